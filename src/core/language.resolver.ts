import { Field, InputType, Resolver } from 'type-graphql';
import { updateInputDescription } from '../graphql/conventions';
import { CrudResolver } from '../graphql/crud-resolver';
import { Language } from './language.entity';
import { languageAdmin, type LanguageChanges, type LanguageInput } from './languages.service';

@InputType({ description: 'A new language.' })
export class CreateLanguageInput implements LanguageInput {
  @Field(() => String, { description: 'A BCP 47 tag such as en-GB: at most 20 characters; unique.' })
  languageTag!: string;

  @Field(() => String, { nullable: true, description: 'The language’s name, e.g. English; at most 50 characters.' })
  language?: string | null;

  @Field(() => String, { nullable: true, description: 'The accent or dialect, e.g. British; at most 50 characters.' })
  accentOrDialect?: string | null;

  @Field(() => String, { nullable: true, description: 'The language family, e.g. Indo-European; at most 50 characters.' })
  family?: string | null;
}

@InputType({
  description: updateInputDescription('The fields of a language to change.', '`language`, `accentOrDialect` and `family` (to none)'),
})
export class UpdateLanguageInput implements LanguageChanges {
  @Field(() => String, { nullable: true, description: 'A BCP 47 tag such as en-GB: at most 20 characters; unique.' })
  languageTag?: string | null;

  @Field(() => String, { nullable: true, description: 'The language’s name; at most 50 characters; null clears it.' })
  language?: string | null;

  @Field(() => String, { nullable: true, description: 'The accent or dialect; at most 50 characters; null clears it.' })
  accentOrDialect?: string | null;

  @Field(() => String, { nullable: true, description: 'The language family; at most 50 characters; null clears it.' })
  family?: string | null;
}

/** `languages`, `language`, `createLanguage`, `updateLanguage`, `deleteLanguage`, derived from `core.language`. */
@Resolver(() => Language)
export class LanguageResolver extends CrudResolver(languageAdmin, {
  objectType: Language,
  createInput: CreateLanguageInput,
  updateInput: UpdateLanguageInput,
}) {}
