import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput } from '../errors';
import { decodeCursor, toPage, type Page } from '../graphql/connection';
import { containsPattern, snapshotFactory, USER_COLUMNS, type UserRow } from '../users/users.queries';
import { Group } from './group.entity';

/*
 * The read side of groups and of everything hanging off users and groups (memberships,
 * permissions, members). Every function here answers for a whole batch of ids with ONE
 * statement; the request's loaders (src/graphql/loaders.ts) collect the ids and share the rows.
 * Nested data comes back as JSON built by PostgreSQL: one row, parsed natively, instead of
 * thousands of wide rows repeating the same permission columns.
 */

/** `[id, app_label, model, codename, name]` of auth_permission. */
export type PermissionTuple = [number, string, string, string, string];
/** `[user_id, group_id, group name, source, rule_id]` of auth_user_groups. */
export type MembershipTuple = [number, number, string, string, number | null];
/** `[owner id, permission ids in registry (id) order]`. */
export type GrantsTuple = [number, number[]];

// Integer ids as a PostgreSQL array literal (`?::int[]`): one statement text whatever the batch size.
const intArray = (ids: readonly number[]) => `{${ids.map((id) => Math.trunc(id)).join(',')}}`;

const groupSnapshot = snapshotFactory(Group, ['id', 'name']);

/** A read-only Group (see snapshotFactory). */
export function groupFromRow(id: number, name: string): Group {
  return groupSnapshot({ id, name });
}

export interface MembershipBatch {
  /** Ordered by user, then group name. */
  memberships: MembershipTuple[];
  grants: GrantsTuple[];
  permissions: PermissionTuple[];
}

/**
 * The memberships of `userIds`, the permission ids of the groups they lead to, and those
 * permissions — one statement for a whole page of users. This is the headline read path:
 * `users { groups { name permissions { codename } } }` costs this one statement beyond the page.
 * (Permissions are ordered by id — registry order — because sorting thousands of rows by text
 * in PostgreSQL costs more than the rest of the statement.)
 */
export async function loadMemberships(em: EntityManager, userIds: readonly number[]): Promise<MembershipBatch> {
  const [row] = await em.execute<MembershipBatch[]>(
    `with m as materialized (
       select ug.user_id, ug.group_id, g.name as group_name, ug.source, ug.rule_id
         from auth_user_groups ug join auth_group g on g.id = ug.group_id
        where ug.user_id = any(?::int[])
     ), gp as materialized (
       select gp.group_id, gp.permission_id from auth_group_permissions gp where gp.group_id in (select group_id from m)
     )
     select
       coalesce((select json_agg(json_build_array(m.user_id, m.group_id, m.group_name, m.source, m.rule_id) order by m.user_id, m.group_name, m.group_id, m.rule_id nulls first) from m), '[]') as memberships,
       coalesce((select json_agg(json_build_array(l.group_id, l.ids)) from (
          select gp.group_id, array_agg(gp.permission_id order by gp.permission_id) as ids from gp group by gp.group_id) l), '[]') as grants,
       coalesce((select json_agg(json_build_array(p.id, p.app_label, p.model, p.codename, p.name))
                   from auth_permission p where p.id in (select permission_id from gp)), '[]') as permissions`,
    [intArray(userIds)],
  );
  return row;
}

export interface PermissionBatch {
  grants: GrantsTuple[];
  permissions: PermissionTuple[];
}

async function loadPermissionsOf(
  em: EntityManager,
  link: { table: string; ownerColumn: string },
  ids: readonly number[],
): Promise<PermissionBatch> {
  const [row] = await em.execute<PermissionBatch[]>(
    `with l as materialized (select x.${link.ownerColumn} as owner_id, x.permission_id from ${link.table} x where x.${link.ownerColumn} = any(?::int[]))
     select
       coalesce((select json_agg(json_build_array(o.owner_id, o.ids)) from (
         select l.owner_id, array_agg(l.permission_id order by l.permission_id) as ids from l group by l.owner_id) o), '[]') as grants,
       coalesce((select json_agg(json_build_array(p.id, p.app_label, p.model, p.codename, p.name))
                   from auth_permission p where p.id in (select permission_id from l)), '[]') as permissions`,
    [intArray(ids)],
  );
  return row;
}

/** The permissions of each of `groupIds`, in one statement. */
export function loadGroupPermissions(em: EntityManager, groupIds: readonly number[]): Promise<PermissionBatch> {
  return loadPermissionsOf(em, { table: 'auth_group_permissions', ownerColumn: 'group_id' }, groupIds);
}

/** The direct permissions of each of `userIds`, in one statement. */
export function loadUserPermissions(em: EntityManager, userIds: readonly number[]): Promise<PermissionBatch> {
  return loadPermissionsOf(em, { table: 'auth_user_user_permissions', ownerColumn: 'user_id' }, userIds);
}

/**
 * For each of `groupIds`, the first `limit + 1` distinct members (by any membership) ordered by
 * username after `afterUsername` — one statement for all the groups (a lateral join per group).
 */
export async function loadMembers(
  em: EntityManager,
  groupIds: readonly number[],
  page: { limit: number; afterUsername: string | null },
): Promise<Array<UserRow & { group_id: number }>> {
  return em.execute(
    `select g.group_id, u.* from unnest(?::int[]) as g(group_id)
       cross join lateral (
         select ${USER_COLUMNS} from auth_user u
          where exists (select 1 from auth_user_groups ug where ug.group_id = g.group_id and ug.user_id = u.id)
            ${page.afterUsername === null ? '' : 'and u.username > ?'}
          order by u.username limit ?) u`,
    [intArray(groupIds), ...(page.afterUsername === null ? [] : [page.afterUsername]), page.limit + 1],
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

/** Decodes a `Group.users` cursor: the username of the last member seen. */
export function decodeMemberCursor(after: string | null | undefined): string | null {
  if (!after) return null;
  const [username] = decodeCursor(after, 1);
  if (typeof username !== 'string') throw badInput('after', 'is not a cursor from this connection');
  return username;
}

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
  if (args.after) {
    const [name] = decodeCursor(args.after, 1);
    if (typeof name !== 'string') throw badInput('after', 'is not a cursor from this connection');
    conditions.push('g.name > ?');
    pageParams.push(name);
  }
  const rows = await em.execute<Array<{ id: number; name: string }>>(
    `select g.id, g.name from auth_group g ${conditions.length ? `where ${conditions.join(' and ')}` : ''} order by g.name limit ?`,
    [...pageParams, args.limit + 1],
  );
  const page = toPage(
    rows,
    args.limit,
    (row) => [row.name],
    async () => {
      const [row] = await em.execute<Array<{ count: string }>>(
        `select count(*) as count from auth_group g ${where.length ? `where ${where.join(' and ')}` : ''}`,
        params,
      );
      return Number(row.count);
    },
  );
  return { ...page, edges: page.edges.map((edge) => ({ cursor: edge.cursor, node: groupFromRow(edge.node.id, edge.node.name) })) };
}

/** The group with `id`, or null. */
export async function findGroup(em: EntityManager, id: number): Promise<Group | null> {
  const [row] = await em.execute<Array<{ id: number; name: string }>>('select g.id, g.name from auth_group g where g.id = ?', [id]);
  return row ? groupFromRow(row.id, row.name) : null;
}
