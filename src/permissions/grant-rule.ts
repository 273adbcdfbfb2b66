import type { EntityManager } from '@mikro-orm/postgresql';
import { GatehouseError } from '../errors';
import { PermissionBackend, type PermissionSubject } from './has-perm';

/**
 * The granting rule — where Gatehouse is stricter than Django. Whoever may change users or
 * groups (`auth.change_user`, `auth.change_group`, …) may give away only what they hold:
 *
 * - a superuser may grant anything (it holds every permission);
 * - anyone else may add to a user or a group only permissions it holds itself, and put a user
 *   (or a mapping rule, or a single sign-on identity) only in groups and accounts whose every
 *   permission it holds — otherwise holding `auth.change_user` would be holding everything;
 * - nobody but a superuser may change their own groups or direct permissions at all, even to
 *   grant what they already hold (so that no chain of self-grants is possible).
 *
 * Taking away is not granting: removing a permission or a membership is never refused by this
 * rule. The users, groups and single sign-on services call `assertMayGrant` before writing; a
 * refusal is FORBIDDEN naming the rule and every permission lacking, and nothing is written.
 *
 * @example
 *   await assertMayGrant(tx, actor, { permissions: ['core.view_tweet'], field: 'permissions' });
 *   // FORBIDDEN { rule: 'grantBeyondOwn', field: 'permissions', permissions: ['core.view_tweet'] } unless actor holds it
 */

/** The rules of granting, named in FORBIDDEN errors as `extensions.rule`. */
export const GRANT_RULES = {
  grantBeyondOwn: 'you may grant only permissions you hold yourself',
  ownGrants: 'you cannot change your own groups or permissions',
} as const;

/** How the rule reads in the schema's descriptions (the operations that grant, the permission catalogue, explainPermission). */
export const GRANT_RULE_SUMMARY =
  'A non-superuser may grant only permissions it holds itself (for a group: only a group whose every permission it holds), and may not change its own groups or permissions.';

/** What a write would give away. */
export interface Grant {
  /** Every permission the write would newly give (`app_label.codename`), e.g. a group's permissions when adding a user to it. */
  permissions: Iterable<string>;
  /** The argument the grant comes from, named in the error (`permissions`, `groupIds`, `input.groupId`, `userId`). */
  field: string;
  /** The user receiving it, when it is a user: a non-superuser may not grant to itself. */
  recipientId?: number;
}

/**
 * The permissions of `wanted` that `actor` may not grant: none for a superuser, otherwise every
 * one it does not hold (`held`, its effective permissions), sorted. Pure: the one decision,
 * also used to explain it.
 */
export function lackingToGrant(actor: PermissionSubject, held: ReadonlySet<string>, wanted: Iterable<string>): string[] {
  if (actor.isActive && actor.isSuperuser) return [];
  return [...new Set(wanted)].filter((name) => !held.has(name)).sort();
}

/**
 * Refuses, with FORBIDDEN, a write by `actor` that would grant what it does not hold, or that
 * changes its own grants (`recipientId` is the actor) when it is not a superuser. `em` reads the
 * actor's permissions as they are now (inside the caller's transaction).
 *
 * @throws GatehouseError FORBIDDEN `{ rule: 'ownGrants', field }` or `{ rule: 'grantBeyondOwn', field, permissions: [...] }`.
 */
export async function assertMayGrant(em: EntityManager, actor: PermissionSubject, grant: Grant): Promise<void> {
  if (actor.isActive && actor.isSuperuser) return;
  if (grant.recipientId !== undefined && grant.recipientId === actor.id)
    throw new GatehouseError('FORBIDDEN', GRANT_RULES.ownGrants, { rule: 'ownGrants', field: grant.field });
  const held = await new PermissionBackend(em).getAllPermissions(actor);
  const lacking = lackingToGrant(actor, held, grant.permissions);
  if (lacking.length)
    throw new GatehouseError('FORBIDDEN', `${GRANT_RULES.grantBeyondOwn}; you lack ${lacking.join(', ')}`, {
      rule: 'grantBeyondOwn',
      field: grant.field,
      permissions: lacking,
    });
}

/**
 * Whether `actor`, holding `held`, may grant `permission` to another user or group — what
 * `explainPermission` reports: exactly when it holds it (a superuser always).
 */
export function mayGrant(actor: PermissionSubject, held: ReadonlySet<string>, permission: string): boolean {
  return lackingToGrant(actor, held, [permission]).length === 0 && actor.isActive;
}
