import { Entity, Opt, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

/** `core.Language`, the original project's sample business model. */
@Entity({ tableName: 'core_language' })
export class Language {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Property({ type: 'string', length: 20 })
  @Unique({ name: 'core_language_language_tag_unique' })
  languageTag!: string;

  @Property({ type: 'string', length: 50, nullable: true })
  language: string | null = null;

  @Property({ type: 'string', length: 50, nullable: true })
  accentOrDialect: string | null = null;

  @Property({ type: 'string', length: 50, nullable: true })
  family: string | null = null;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
