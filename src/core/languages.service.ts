import { conflict, refuseNulls } from '../errors';
import type { ModelAdmin } from '../admin/model-admin';
import { modelRef } from '../permissions/registry';
import { changesOf, optionalText, requiredText } from './fields';
import { Language } from './language.entity';

export interface LanguageInput {
  languageTag: string;
  language?: string | null;
  accentOrDialect?: string | null;
  family?: string | null;
}

export type LanguageChanges = { [K in keyof LanguageInput]?: LanguageInput[K] | null };

const optional = (field: keyof LanguageInput) => (value: string | null | undefined) => optionalText(value, `input.${field}`, 50);

/** How `core.Language` is validated, named in the admin log, ordered and protected. */
export const languageAdmin: ModelAdmin<Language, LanguageInput, LanguageChanges> = {
  ref: modelRef('core', 'language'),
  entity: Language,
  ordering: [
    ['createdAt', 'asc'],
    ['id', 'asc'],
  ],
  toCreate: (input) => ({
    languageTag: requiredText(input.languageTag, 'input.languageTag', 20),
    language: optional('language')(input.language),
    accentOrDialect: optional('accentOrDialect')(input.accentOrDialect),
    family: optional('family')(input.family),
  }),
  toChanges: (input) => {
    refuseNulls(input, ['languageTag']);
    return changesOf<LanguageChanges, Language>(input, {
      languageTag: (v) => requiredText(v, 'input.languageTag', 20),
      language: optional('language'),
      accentOrDialect: optional('accentOrDialect'),
      family: optional('family'),
    });
  },
  repr: (language) => language.languageTag,
  // Uniqueness is decided by the index, not by a racy count before the insert.
  constraints: {
    core_language_language_tag_unique: (attempt) =>
      conflict('input.languageTag', `the language tag "${attempt.languageTag ?? ''}" is already in use`),
  },
};
