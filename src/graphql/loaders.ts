import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { Group } from '../groups/group.entity';
import {
  groupFromRow,
  loadGroupPermissions,
  loadMemberCounts,
  loadMembers,
  loadMemberships,
  loadUserPermissions,
  type PermissionBatch,
  type PermissionTuple,
} from '../groups/groups.queries';
import { Permission } from '../permissions/permission.entity';
import type { User } from '../users/user.entity';
import type { MembershipSource } from '../users/user-group.entity';
import type { Membership } from '../users/user.types';
import { snapshotFactory, userFromRow, type UserRow } from '../users/users.queries';

/** A user's memberships and the distinct groups they lead to, both ordered by group name. */
export interface UserGroups {
  readonly memberships: Membership[];
  readonly groups: Group[];
}

/**
 * The request's batched loading, created with the request's context and dropped with it:
 * nothing here outlives a request, so nothing can serve a stale grant.
 *
 * - DataLoaders collect the ids that sibling field resolvers ask for in one tick and answer all
 *   of them with one SQL statement (see `src/groups/groups.queries.ts`): a page of N users and
 *   their groups and the groups' permissions cost the same statements for N = 5 or 500.
 * - An identity map per request: each group, permission and user is one object however many
 *   times it appears in the response.
 * - Loading a user's memberships also loads their groups' permissions (same statement) and
 *   fills what `permissionsOfGroup` returns, so `users { groups { permissions } }` reads them
 *   without SQL; what is already loaded is returned without a promise (see `groupsOf`).
 */
export class Loaders {
  private readonly permissions = new Map<number, Permission>();
  private readonly groups = new Map<number, Group>();
  private readonly users = new Map<number, User>();
  /** Permissions of groups known without a statement (loaded by `groupsOfUser`). */
  private readonly knownGroupPermissions = new Map<number, readonly Permission[]>();
  /** What `groupsOfUser` has loaded, readable without a promise. */
  private readonly knownUserGroups = new Map<number, UserGroups>();
  private readonly memberPages = new Map<string, DataLoader<number, { users: User[]; hasNextPage: boolean }>>();

  /** Why each user is in which group (`memberships`, ordered by group name) and the distinct `groups`. */
  private readonly groupsOfUser: DataLoader<number, UserGroups>;
  /** Direct grants of each user (not through groups). */
  readonly permissionsOfUser: DataLoader<number, readonly Permission[]>;
  private readonly groupPermissionLoader: DataLoader<number, readonly Permission[]>;
  /** Distinct members of each group. */
  readonly memberCountOfGroup: DataLoader<number, number>;

  constructor(private readonly em: EntityManager) {
    this.groupsOfUser = new DataLoader((ids) => this.batchMemberships(ids));
    this.permissionsOfUser = new DataLoader(async (ids) => this.byOwner(ids, await loadUserPermissions(this.em, ids)));
    this.groupPermissionLoader = new DataLoader(async (ids) => this.byOwner(ids, await loadGroupPermissions(this.em, ids)));
    this.memberCountOfGroup = new DataLoader(async (ids) => {
      const counts = await loadMemberCounts(this.em, ids);
      return ids.map((id) => counts.get(id) ?? 0);
    });
  }

  /**
   * A user's groups and memberships: synchronously when already loaded (see `prefetchGroups`),
   * else through a batch. A field resolved without a promise lets graphql-js complete the whole
   * object synchronously, which on a page of hundreds of users is most of the execution time.
   */
  groupsOf(userId: number): UserGroups | Promise<UserGroups> {
    return this.knownUserGroups.get(userId) ?? this.groupsOfUser.load(userId);
  }

  /** Loads the groups of `userIds` now, in one statement, so that `groupsOf` answers them synchronously. */
  async prefetchGroups(userIds: readonly number[]): Promise<void> {
    const missing = userIds.filter((id) => !this.knownUserGroups.has(id));
    if (missing.length) await this.groupsOfUser.loadMany(missing);
  }

  /**
   * The permissions of a group: synchronously when this request already loaded them with the
   * memberships of a user (the common case, no promise per group), else through a batch.
   */
  permissionsOfGroup(groupId: number): readonly Permission[] | Promise<readonly Permission[]> {
    return this.knownGroupPermissions.get(groupId) ?? this.groupPermissionLoader.load(groupId);
  }

  /**
   * A page of a group's members (by username) after `afterUsername`; the groups asking for the
   * same page size and cursor in one tick share one statement.
   */
  membersOfGroup(groupId: number, page: { limit: number; afterUsername: string | null }): Promise<{ users: User[]; hasNextPage: boolean }> {
    const key = JSON.stringify([page.limit, page.afterUsername]);
    let loader = this.memberPages.get(key);
    if (!loader) {
      loader = new DataLoader(async (groupIds) => {
        const rows = await loadMembers(this.em, groupIds, page);
        const byGroup = new Map<number, User[]>(groupIds.map((id) => [id, []]));
        for (const row of rows) byGroup.get(row.group_id)?.push(this.user(row));
        return groupIds.map((id) => {
          const users = byGroup.get(id)!;
          return { users: users.slice(0, page.limit), hasNextPage: users.length > page.limit };
        });
      });
      this.memberPages.set(key, loader);
    }
    return loader.load(groupId);
  }

  /** Forgets what was loaded about users and groups (after a mutation changed them). */
  clear(): void {
    this.groupsOfUser.clearAll();
    this.permissionsOfUser.clearAll();
    this.groupPermissionLoader.clearAll();
    this.memberCountOfGroup.clearAll();
    this.knownGroupPermissions.clear();
    this.knownUserGroups.clear();
    this.memberPages.clear();
    this.groups.clear();
    this.users.clear();
  }

  private async batchMemberships(userIds: readonly number[]): Promise<UserGroups[]> {
    const batch = await loadMemberships(this.em, userIds);
    for (const tuple of batch.permissions) this.permission(tuple);
    for (const [groupId, permissionIds] of batch.grants) {
      if (!this.knownGroupPermissions.has(groupId))
        this.knownGroupPermissions.set(
          groupId,
          permissionIds.map((pid) => this.permissions.get(pid)!),
        );
    }
    const byUser = new Map<number, UserGroups>(userIds.map((id) => [id, { memberships: [], groups: [] }]));
    for (const [userId, groupId, groupName, source, ruleId] of batch.memberships) {
      const entry = byUser.get(userId);
      if (!entry) continue;
      const group = this.group(groupId, groupName);
      // A group without permissions has no grants row; it is known to have none all the same.
      if (!this.knownGroupPermissions.has(groupId)) this.knownGroupPermissions.set(groupId, NO_PERMISSIONS);
      entry.memberships.push({ group, source: source as MembershipSource, ruleId: ruleId === null ? null : String(ruleId) });
      // Memberships come ordered by user and group, so a group's memberships are adjacent.
      if (entry.groups.at(-1) !== group) entry.groups.push(group);
    }
    for (const [id, entry] of byUser) this.knownUserGroups.set(id, entry);
    return userIds.map((id) => byUser.get(id)!);
  }

  private byOwner(ids: readonly number[], batch: PermissionBatch): Array<readonly Permission[]> {
    for (const tuple of batch.permissions) this.permission(tuple);
    const byOwner = new Map(batch.grants.map(([owner, permissionIds]) => [owner, permissionIds.map((pid) => this.permissions.get(pid)!)]));
    return ids.map((id) => byOwner.get(id) ?? NO_PERMISSIONS);
  }

  private permission([id, appLabel, model, codename, name]: PermissionTuple): Permission {
    let permission = this.permissions.get(id);
    if (!permission) {
      permission = permissionSnapshot({ id, appLabel, model, codename, name });
      this.permissions.set(id, permission);
    }
    return permission;
  }

  private group(id: number, name: string): Group {
    let group = this.groups.get(id);
    if (!group) {
      group = groupFromRow(id, name);
      this.groups.set(id, group);
    }
    return group;
  }

  private user(row: UserRow): User {
    let user = this.users.get(row.id);
    if (!user) {
      user = userFromRow(row);
      this.users.set(row.id, user);
    }
    return user;
  }
}

const NO_PERMISSIONS: readonly Permission[] = Object.freeze([]);
// `fullName` is a getter of Permission's prototype, so a snapshot has it too.
const permissionSnapshot = snapshotFactory(Permission, ['id', 'appLabel', 'model', 'codename', 'name']);

/**
 * True when the operation selects, below the current field, the path `path` and then any
 * field named in `leaves` (fragments and inline fragments included; @skip/@include ignored,
 * so at worst something is loaded that is not shown). Used to load what a page's fields will
 * need together with the page, instead of from each row's resolver.
 *
 * @example selects(info, ['edges', 'node'], ['groups', 'memberships'])
 */
export function selects(info: GraphQLResolveInfo, path: readonly string[], leaves: readonly string[]): boolean {
  let sets = info.fieldNodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
  for (const name of path)
    sets = fieldsOf(sets, info).flatMap((field) => (field.name.value === name && field.selectionSet ? [field.selectionSet] : []));
  return fieldsOf(sets, info).some((field) => leaves.includes(field.name.value));
}

function fieldsOf(sets: readonly SelectionSetNode[], info: GraphQLResolveInfo, seen = new Set<string>()): FieldNode[] {
  const fields: FieldNode[] = [];
  for (const set of sets) {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) fields.push(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) fields.push(...fieldsOf([selection.selectionSet], info, seen));
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = info.fragments[selection.name.value];
        if (fragment) fields.push(...fieldsOf([fragment.selectionSet], info, seen));
      }
    }
  }
  return fields;
}

export function createLoaders(em: EntityManager): Loaders {
  return new Loaders(em);
}
