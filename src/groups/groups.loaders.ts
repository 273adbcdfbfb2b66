import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import type { Permission } from '../permissions/permission.entity';
import type { PermissionIdentityMap } from '../permissions/permissions.loaders';
import type { User } from '../users/user.entity';
import { userFromRow, type UserRow } from '../users/users.queries';
import type { Group } from './group.entity';
import { groupFromRow, loadGroupPermissions, loadMemberCounts, loadMembers } from './groups.queries';

/** A page of a group's members, and whether more follow. */
export interface MemberPage {
  users: User[];
  hasNextPage: boolean;
}

/**
 * A request's batched loading of groups' permissions and members, created with the request and
 * dropped with it (nothing here can serve a stale grant to another request). Each group and
 * member is one object however often it appears; the permissions a user's memberships already
 * brought (`rememberPermissions`) are returned without a statement or a promise.
 */
export class GroupLoaders {
  private readonly groups = new Map<number, Group>();
  private readonly members = new Map<number, User>();
  /** Permissions of groups known without a statement (loaded with users' memberships). */
  private readonly knownPermissions = new Map<number, readonly Permission[]>();
  private readonly permissionLoader: DataLoader<number, readonly Permission[]>;
  private readonly memberPages = new Map<string, DataLoader<number, MemberPage>>();
  /** Distinct members of each group. */
  readonly memberCount: DataLoader<number, number>;

  constructor(
    private readonly em: EntityManager,
    private readonly permissions: PermissionIdentityMap,
  ) {
    this.permissionLoader = new DataLoader(async (ids) => this.permissions.grantsOf(ids, await loadGroupPermissions(this.em, ids)));
    this.memberCount = new DataLoader(async (ids) => {
      const counts = await loadMemberCounts(this.em, ids);
      return ids.map((id) => counts.get(id) ?? 0);
    });
  }

  /** The group `id` (named `name`), the same object each time in this request. */
  group(id: number, name: string): Group {
    let group = this.groups.get(id);
    if (!group) {
      group = groupFromRow(id, name);
      this.groups.set(id, group);
    }
    return group;
  }

  /** Records the permissions of a group loaded by another statement, unless already known. */
  rememberPermissions(groupId: number, permissions: readonly Permission[]): void {
    if (!this.knownPermissions.has(groupId)) this.knownPermissions.set(groupId, permissions);
  }

  /**
   * The permissions of a group: synchronously when this request already loaded them with the
   * memberships of a user (the common case, no promise per group), else through a batch.
   */
  permissionsOf(groupId: number): readonly Permission[] | Promise<readonly Permission[]> {
    return this.knownPermissions.get(groupId) ?? this.permissionLoader.load(groupId);
  }

  /**
   * A page of a group's members (by username) after the key `after` (of MEMBER_ORDER); the
   * groups asking for the same page size and cursor in one tick share one statement.
   */
  membersOf(groupId: number, page: { limit: number; after: readonly unknown[] | null }): Promise<MemberPage> {
    const key = JSON.stringify([page.limit, page.after]);
    let loader = this.memberPages.get(key);
    if (!loader) {
      loader = new DataLoader(async (groupIds) => {
        const rows = await loadMembers(this.em, groupIds, page);
        const byGroup = new Map<number, User[]>(groupIds.map((id) => [id, []]));
        for (const row of rows) byGroup.get(row.group_id)?.push(this.member(row));
        return groupIds.map((id) => {
          const users = byGroup.get(id)!;
          return { users: users.slice(0, page.limit), hasNextPage: users.length > page.limit };
        });
      });
      this.memberPages.set(key, loader);
    }
    return loader.load(groupId);
  }

  /** Forgets what was loaded (after a mutation changed users or groups). */
  clear(): void {
    this.permissionLoader.clearAll();
    this.memberCount.clearAll();
    this.knownPermissions.clear();
    this.memberPages.clear();
    this.groups.clear();
    this.members.clear();
  }

  private member(row: UserRow): User {
    let user = this.members.get(row.id);
    if (!user) {
      user = userFromRow(row);
      this.members.set(row.id, user);
    }
    return user;
  }
}
