import { Entity, Opt, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, ObjectType } from 'type-graphql';

/** `core.Language`, the original project's sample business model. */
@ObjectType('Language', { description: 'A language or dialect (core.Language).' })
@Entity({ tableName: 'core_language' })
export class Language {
  @Field(() => ID, { description: 'The language’s id.' })
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Field(() => String, { description: 'A BCP 47 tag such as en-GB; unique.' })
  @Property({ type: 'string', length: 20 })
  @Unique({ name: 'core_language_language_tag_unique' })
  languageTag!: string;

  @Field(() => String, { nullable: true, description: 'The language’s name, e.g. English; null when not given.' })
  @Property({ type: 'string', length: 50, nullable: true })
  language: string | null = null;

  @Field(() => String, { nullable: true, description: 'The accent or dialect, e.g. British; null when not given.' })
  @Property({ type: 'string', length: 50, nullable: true })
  accentOrDialect: string | null = null;

  @Field(() => String, { nullable: true, description: 'The language family, e.g. Indo-European; null when not given.' })
  @Property({ type: 'string', length: 50, nullable: true })
  family: string | null = null;

  @Field(() => Date, { description: 'When it was created.' })
  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Field(() => Date, { description: 'When it was last changed.' })
  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
