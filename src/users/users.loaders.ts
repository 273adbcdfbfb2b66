import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import type { Group } from '../groups/group.entity';
import type { GroupLoaders } from '../groups/groups.loaders';
import type { Permission } from '../permissions/permission.entity';
import { NO_PERMISSIONS, type PermissionIdentityMap } from '../permissions/permissions.loaders';
import type { MembershipSource } from './user-group.entity';
import { loadMemberships, loadUserPermissions } from './users.queries';

/** One reason a user is in a group: an admin's assignment (no rule) or a mapping rule. */
export interface UserMembership {
  readonly group: Group;
  readonly source: MembershipSource;
  readonly ruleId: string | null;
}

/** A user's memberships and the distinct groups they lead to, both ordered by group name. */
export interface UserGroups {
  readonly memberships: UserMembership[];
  readonly groups: Group[];
}

/**
 * A request's batched loading of users' groups and direct permissions, created with the request
 * and dropped with it. DataLoaders collect the ids sibling field resolvers ask for in one tick
 * and answer them with one statement (`users.queries.ts`): a page of N users and their groups
 * and the groups' permissions cost the same statements for N = 5 or 500. Loading memberships
 * also loads the groups' permissions (same statement) and hands them to `groups`, so
 * `users { groups { permissions } }` reads them without SQL; what is already loaded is returned
 * without a promise (see `groupsOf`).
 */
export class UserLoaders {
  /** Why each user is in which group (`memberships`, ordered by group name) and the distinct `groups`. */
  private readonly groupsOfUser: DataLoader<number, UserGroups>;
  /** What `groupsOfUser` has loaded, readable without a promise. */
  private readonly known = new Map<number, UserGroups>();
  /** Direct grants of each user (not through groups). */
  readonly permissionsOfUser: DataLoader<number, readonly Permission[]>;

  constructor(
    private readonly em: EntityManager,
    private readonly groups: GroupLoaders,
    private readonly permissions: PermissionIdentityMap,
  ) {
    this.groupsOfUser = new DataLoader((ids) => this.batchMemberships(ids));
    this.permissionsOfUser = new DataLoader(async (ids) => this.permissions.grantsOf(ids, await loadUserPermissions(this.em, ids)));
  }

  /**
   * A user's groups and memberships: synchronously when already loaded (see `prefetchGroups`),
   * else through a batch. A field resolved without a promise lets graphql-js complete the whole
   * object synchronously, which on a page of hundreds of users is most of the execution time.
   */
  groupsOf(userId: number): UserGroups | Promise<UserGroups> {
    return this.known.get(userId) ?? this.groupsOfUser.load(userId);
  }

  /** Loads the groups of `userIds` now, in one statement, so that `groupsOf` answers them synchronously. */
  async prefetchGroups(userIds: readonly number[]): Promise<void> {
    const missing = userIds.filter((id) => !this.known.has(id));
    if (missing.length) await this.groupsOfUser.loadMany(missing);
  }

  /** Forgets what was loaded (after a mutation changed users or groups). */
  clear(): void {
    this.groupsOfUser.clearAll();
    this.permissionsOfUser.clearAll();
    this.known.clear();
  }

  private async batchMemberships(userIds: readonly number[]): Promise<UserGroups[]> {
    const batch = await loadMemberships(this.em, userIds);
    for (const tuple of batch.permissions) this.permissions.permission(tuple);
    for (const [groupId, permissionIds] of batch.grants) this.groups.rememberPermissions(groupId, this.permissions.byIds(permissionIds));
    const byUser = new Map<number, { memberships: UserMembership[]; groups: Group[] }>(
      userIds.map((id) => [id, { memberships: [], groups: [] }]),
    );
    for (const [userId, groupId, groupName, source, ruleId] of batch.memberships) {
      const entry = byUser.get(userId);
      if (!entry) continue;
      const group = this.groups.group(groupId, groupName);
      // A group without permissions has no grants row; it is known to have none all the same.
      this.groups.rememberPermissions(groupId, NO_PERMISSIONS);
      entry.memberships.push({ group, source: source as MembershipSource, ruleId: ruleId === null ? null : String(ruleId) });
      // Memberships come ordered by user and group, so a group's memberships are adjacent.
      if (entry.groups.at(-1) !== group) entry.groups.push(group);
    }
    for (const [id, entry] of byUser) this.known.set(id, entry);
    return userIds.map((id) => byUser.get(id)!);
  }
}
