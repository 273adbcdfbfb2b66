import { Field, InputType, Resolver } from 'type-graphql';
import { CrudResolver } from '../graphql/crud-resolver';
import { Language } from './language.entity';
import { languageAdmin, type LanguageChanges, type LanguageInput } from './languages.service';

@InputType()
export class CreateLanguageInput implements LanguageInput {
  @Field(() => String, { description: 'At most 20 characters; unique.' })
  languageTag!: string;

  @Field(() => String, { nullable: true, description: 'At most 50 characters.' })
  language?: string | null;

  @Field(() => String, { nullable: true, description: 'At most 50 characters.' })
  accentOrDialect?: string | null;

  @Field(() => String, { nullable: true, description: 'At most 50 characters.' })
  family?: string | null;
}

@InputType({ description: 'Omitted fields are kept; null clears an optional field.' })
export class UpdateLanguageInput implements LanguageChanges {
  @Field(() => String, { nullable: true })
  languageTag?: string | null;

  @Field(() => String, { nullable: true })
  language?: string | null;

  @Field(() => String, { nullable: true })
  accentOrDialect?: string | null;

  @Field(() => String, { nullable: true })
  family?: string | null;
}

/** `languages`, `language`, `createLanguage`, `updateLanguage`, `deleteLanguage`, derived from `core.language`. */
@Resolver(() => Language)
export class LanguageResolver extends CrudResolver(languageAdmin, {
  objectType: Language,
  createInput: CreateLanguageInput,
  updateInput: UpdateLanguageInput,
}) {}
