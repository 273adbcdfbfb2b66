import type { EntityManager } from '@mikro-orm/postgresql';
import { Keyset, type Page } from '../db/keyset';
import { snapshotFactory } from '../db/snapshots';
import { containsPattern, intArray } from '../db/sql';
import { loadPermissionsOf, type PermissionBatch } from '../permissions/permissions.queries';
import { USER_COLUMNS, type UserRow } from '../users/users.queries';
import { Group } from './group.entity';

/*
 * The read side of groups and of what hangs off them (permissions, members). Every batch
 * function here answers for a whole batch of ids with ONE statement; the request's loaders
 * (`groups.loaders.ts`) collect the ids and share the rows. Nested data comes back as JSON built
 * by PostgreSQL: one row, parsed natively, instead of thousands of wide rows repeating the same
 * permission columns.
 */

const groupSnapshot = snapshotFactory(Group, ['id', 'name']);

/** A read-only Group (see snapshotFactory). */
export function groupFromRow(id: number, name: string): Group {
  return groupSnapshot({ id, name });
}

/** The permissions of each of `groupIds`, in one statement. */
export function loadGroupPermissions(em: EntityManager, groupIds: readonly number[]): Promise<PermissionBatch> {
  return loadPermissionsOf(em, { table: 'auth_group_permissions', ownerColumn: 'group_id' }, groupIds);
}

/** `Group.users` pages: members by username. */
export const MEMBER_ORDER = new Keyset<{ username: string }>([{ type: 'text', column: 'u.username', value: (user) => user.username }]);

/**
 * For each of `groupIds`, the first `limit + 1` distinct members (by any membership) ordered by
 * username after `after` (a key of MEMBER_ORDER) — one statement for all the groups (a lateral
 * join per group).
 */
export async function loadMembers(
  em: EntityManager,
  groupIds: readonly number[],
  page: { limit: number; after: readonly unknown[] | null },
): Promise<Array<UserRow & { group_id: number }>> {
  const after = page.after ? MEMBER_ORDER.sqlAfter(page.after) : null;
  return em.execute(
    `select g.group_id, u.* from unnest(?::int[]) as g(group_id)
       cross join lateral (
         select ${USER_COLUMNS} from auth_user u
          where exists (select 1 from auth_user_groups ug where ug.group_id = g.group_id and ug.user_id = u.id)
            ${after ? `and ${after.sql}` : ''}
          order by ${MEMBER_ORDER.sqlOrderBy()} limit ?) u`,
    [intArray(groupIds), ...(after?.params ?? []), page.limit + 1],
  );
}

/** How many distinct users are members of each of `groupIds`. */
export async function loadMemberCounts(em: EntityManager, groupIds: readonly number[]): Promise<Map<number, number>> {
  const rows = await em.execute<Array<{ group_id: number; count: string }>>(
    'select ug.group_id, count(distinct ug.user_id) as count from auth_user_groups ug where ug.group_id = any(?::int[]) group by ug.group_id',
    [intArray(groupIds)],
  );
  return new Map(rows.map((row) => [row.group_id, Number(row.count)]));
}

const BY_NAME = new Keyset<{ id: number; name: string }>([{ type: 'text', column: 'g.name', value: (row) => row.name }]);

/** One page of groups whose name contains `search` (case-insensitive), by name. */
export async function listGroups(
  em: EntityManager,
  args: { search?: string | null; limit: number; after?: string | null },
): Promise<Page<Group>> {
  const search = args.search?.trim();
  const where = search ? ['g.name ilike ?'] : [];
  const params: unknown[] = search ? [containsPattern(search)] : [];
  const conditions = [...where];
  const pageParams = [...params];
  const key = BY_NAME.decode(args.after);
  if (key) {
    const after = BY_NAME.sqlAfter(key);
    conditions.push(after.sql);
    pageParams.push(...after.params);
  }
  const rows = await em.execute<Array<{ id: number; name: string }>>(
    `select g.id, g.name from auth_group g ${conditions.length ? `where ${conditions.join(' and ')}` : ''} order by ${BY_NAME.sqlOrderBy()} limit ?`,
    [...pageParams, args.limit + 1],
  );
  return BY_NAME.page(
    rows,
    args.limit,
    async () => {
      const [row] = await em.execute<Array<{ count: string }>>(
        `select count(*) as count from auth_group g ${where.length ? `where ${where.join(' and ')}` : ''}`,
        params,
      );
      return Number(row.count);
    },
    (row) => groupFromRow(row.id, row.name),
  );
}

/** The group with `id`, or null. */
export async function findGroup(em: EntityManager, id: number): Promise<Group | null> {
  const [row] = await em.execute<Array<{ id: number; name: string }>>('select g.id, g.name from auth_group g where g.id = ?', [id]);
  return row ? groupFromRow(row.id, row.name) : null;
}
