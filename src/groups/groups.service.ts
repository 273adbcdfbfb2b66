import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { changedFields, logChange } from '../audit/audit.service';
import { ActionFlag } from '../audit/log-entry.entity';
import { badInput, conflict, notFound, refuseNulls } from '../errors';
import { writing, type ConstraintErrors } from '../db/database-errors';
import { assertMayGrant } from '../permissions/grant-rule';
import { permissionsNamed, replaceGrants } from '../permissions/grants';
import { modelRef } from '../permissions/registry';
import type { User } from '../users/user.entity';
import { Group } from './group.entity';

/*
 * The administration of groups. Every write runs in one transaction with its LogEntry; the
 * caller has already checked auth.add_group / auth.change_group / auth.delete_group.
 */

const GROUP = modelRef('auth', 'group');

export interface GroupInput {
  name?: string | null;
}

/** A group name: 1-150 characters once trimmed; BAD_USER_INPUT naming `input.name`. */
export function validateGroupName(name: string): string {
  const value = name.trim();
  if (value.length === 0) throw badInput('input.name', 'must not be empty');
  if (value.length > 150) throw badInput('input.name', 'must be at most 150 characters');
  return value;
}

const nameTaken = (name: string | undefined) => conflict('input.name', `a group named "${name}" already exists`);
const GROUP_CONSTRAINTS: ConstraintErrors<Group> = { auth_group_name_unique: (attempt) => nameTaken(attempt.name) };

/** Runs `work`, translating a violated constraint (a name taken concurrently) into CONFLICT. */
const write = <T>(attempt: Partial<Group>, work: () => Promise<T>): Promise<T> => writing(work, GROUP_CONSTRAINTS, attempt);

async function lockGroup(tx: EntityManager, id: number, options: { populate?: readonly ['permissions'] } = {}): Promise<Group> {
  const group = await tx.findOne(Group, id, { lockMode: LockMode.PESSIMISTIC_WRITE, populate: options.populate ?? [] });
  if (!group) throw notFound('group', id);
  return group;
}

/** Creates a group; a taken name is CONFLICT naming `input.name`. */
export async function createGroup(em: EntityManager, actor: User, input: { name: string }): Promise<Group> {
  const name = validateGroupName(input.name);
  return write({ name }, () =>
    em.transactional(async (tx) => {
      if (await tx.count(Group, { name })) throw nameTaken(name);
      const group = tx.create(Group, { name });
      await tx.flush();
      logChange(tx, { actor, model: GROUP, objectId: group.id, objectRepr: group.name, action: ActionFlag.ADDITION });
      await tx.flush();
      return group;
    }),
  );
}

/** Renames a group; a change that changes nothing writes nothing. */
export async function updateGroup(em: EntityManager, actor: User, id: number, input: GroupInput): Promise<Group> {
  refuseNulls(input, ['name']);
  const changes = input.name === undefined || input.name === null ? {} : { name: validateGroupName(input.name) };
  return write(changes, () =>
    em.transactional(async (tx) => {
      const group = await lockGroup(tx, id);
      if (changes.name !== undefined && changes.name !== group.name && (await tx.count(Group, { name: changes.name, id: { $ne: id } })))
        throw nameTaken(changes.name);
      const message = changedFields(group, changes);
      if (!message) return group;
      tx.assign(group, changes);
      logChange(tx, { actor, model: GROUP, objectId: group.id, objectRepr: group.name, action: ActionFlag.CHANGE, message });
      await tx.flush();
      return group;
    }),
  );
}

/**
 * Deletes a group and returns its id. Its memberships (by admins and by single sign-on rules),
 * its permission grants and the mapping rules that pointed at it go with it (the database
 * cascades); its members stay. The log entry says how many members and rules were affected.
 */
export async function deleteGroup(em: EntityManager, actor: User, id: number): Promise<number> {
  return em.transactional(async (tx) => {
    const group = await lockGroup(tx, id);
    const [counts] = await tx.execute<Array<{ members: string; rules: string }>>(
      `select (select count(distinct user_id) from auth_user_groups where group_id = ?) as members,
              (select count(*) from sso_groupmappingrule where group_id = ?) as rules`,
      [id, id],
    );
    logChange(tx, {
      actor,
      model: GROUP,
      objectId: group.id,
      objectRepr: group.name,
      action: ActionFlag.DELETION,
      message: [{ deleted: { members: Number(counts.members), mappingRules: Number(counts.rules) } }],
    });
    await tx.flush();
    await tx.nativeDelete(Group, { id });
    return id;
  });
}

/**
 * Sets the group's permissions to exactly `names` (`app_label.codename`). Unknown names are
 * BAD_USER_INPUT naming `permissions` and each unknown name; a permission added that the actor
 * does not hold is FORBIDDEN (the granting rule, grant-rule.ts); nothing is written then. Every
 * member's next request sees the change (permissions are computed per request).
 */
export async function setGroupPermissions(em: EntityManager, actor: User, id: number, names: readonly string[]): Promise<Group> {
  return em.transactional(async (tx) => {
    const wanted = await permissionsNamed(tx, names);
    const group = await lockGroup(tx, id, { populate: ['permissions'] });
    const current = group.permissions.getItems();
    await assertMayGrant(tx, actor, {
      permissions: wanted.filter((p) => !current.includes(p)).map((p) => p.fullName),
      field: 'permissions',
    });
    const message = replaceGrants(group.permissions, wanted, 'permissions');
    if (!message) return group;
    logChange(tx, { actor, model: GROUP, objectId: group.id, objectRepr: group.name, action: ActionFlag.CHANGE, message });
    await tx.flush();
    return group;
  });
}
