/**
 * Gatehouse's system checks, after Django's (`auth.E005`): every problem found at start or by
 * `gatehouse check` carries a stable id, `gatehouse.<area>.<E|W><nnn>`. Errors stop the service;
 * warnings are logged once at start and printed by `gatehouse check`. Each id is listed here
 * once, with what it means and how to fix it; the README's table repeats this list (a test
 * keeps the two equal).
 */
export const CHECKS = {
  'gatehouse.config.E001': {
    means: 'a variable has an invalid value, or one that another setting requires is unset',
    hint: 'set it as the message says; `.env.example` documents every variable',
  },
  'gatehouse.graphql.E001': {
    means: 'a root field has no access declaration',
    hint: "declare exactly one: `@HasPermission('<app>.<action>_<model>')`, `@Authenticated()` or `@Public()`",
  },
  'gatehouse.graphql.E002': {
    means: '`@hasPermission` names a permission the model registry does not derive',
    hint: 'name one of its permissions (`<app>.<action>_<model>`), or register the model in `src/permissions/registry.ts`',
  },
  'gatehouse.graphql.E003': {
    means: 'a field has more than one access declaration',
    hint: 'keep exactly one of `@HasPermission`, `@Authenticated` and `@Public`',
  },
  'gatehouse.permissions.W001': {
    means: 'a permission the registry derives is required by no operation',
    hint: 'add the operation that needs it, or list the permission with the reason in `src/permissions/without-operation.ts`',
  },
  'gatehouse.permissions.W002': {
    means: 'a permission listed as having no operation is required by one',
    hint: 'remove it from `src/permissions/without-operation.ts`',
  },
  'gatehouse.database.E001': {
    means: 'migrations are pending',
    hint: 'run `gatehouse migrate`',
  },
  'gatehouse.database.E002': {
    means: 'the database schema differs from the entities',
    hint: 'a migration is missing: write it with `gatehouse makemigrations`',
  },
  'gatehouse.database.E003': {
    means: 'permissions of the registry are missing from the database',
    hint: 'run `gatehouse migrate`',
  },
} as const satisfies Record<string, { means: string; hint: string }>;

export type CheckId = keyof typeof CHECKS;
export type CheckLevel = 'error' | 'warning';

/** One finding: `message` names the field, variable or permission concerned. */
export interface CheckMessage {
  readonly id: CheckId;
  readonly level: CheckLevel;
  readonly message: string;
  readonly hint: string;
}

/**
 * The finding `id` about `message`; its level comes from the id (`E` error, `W` warning).
 *
 * @example checkMessage('gatehouse.graphql.E001', 'Query.forgotten: has no access declaration')
 */
export function checkMessage(id: CheckId, message: string): CheckMessage {
  return { id, level: /\.W\d+$/.test(id) ? 'warning' : 'error', message, hint: CHECKS[id].hint };
}

/** `[gatehouse.graphql.E001] Query.forgotten: has no access declaration (…); hint: declare exactly one: …` */
export function formatCheck(check: CheckMessage): string {
  return `[${check.id}] ${check.message}; hint: ${check.hint}`;
}

export const errorsIn = (checks: readonly CheckMessage[]) => checks.filter((check) => check.level === 'error');
export const warningsIn = (checks: readonly CheckMessage[]) => checks.filter((check) => check.level === 'warning');

/** Errors found by the system checks: the service refuses to start, naming each with its id. */
export class SystemCheckError extends Error {
  constructor(
    readonly checks: readonly CheckMessage[],
    summary = 'system checks failed; the service refuses to start',
  ) {
    super(`${summary}:\n  ${checks.map(formatCheck).join('\n  ')}`);
    this.name = 'SystemCheckError';
  }
}
