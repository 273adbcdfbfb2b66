import type { EntityManager } from '@mikro-orm/postgresql';
import { Keyset, type Page } from '../db/keyset';
import { snapshotFactory } from '../db/snapshots';
import { containsPattern, intArray } from '../db/sql';
import { loadPermissionsOf, type PermissionBatch } from '../permissions/permissions.queries';
import { User } from './user.entity';

/*
 * The read side of users: plain SQL, one statement per page, rows turned into read-only User
 * snapshots. Reads never go through the EntityManager's unit of work — hydrating managed
 * entities costs ~20 µs a row (measured: 50 users ≈ 1 ms), which is most of a fast request.
 * The batch reads (`loadMemberships`, `loadUserPermissions`) answer for a whole batch of ids with
 * ONE statement; the request's loaders (`users.loaders.ts`) collect the ids and share the rows.
 */

/** The orderings of `users`; each has a keyset cursor, so pages stay stable while rows change. */
export enum UserOrder {
  USERNAME_ASC = 'USERNAME_ASC',
  USERNAME_DESC = 'USERNAME_DESC',
  DATE_JOINED_ASC = 'DATE_JOINED_ASC',
  DATE_JOINED_DESC = 'DATE_JOINED_DESC',
}

/** Everything of auth_user but the password. */
export const USER_COLUMNS =
  'u.id, u.username, u.email, u.first_name, u.last_name, u.is_active, u.is_staff, u.is_superuser, u.date_joined, u.last_login';

export interface UserRow {
  id: number;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  is_active: boolean;
  is_staff: boolean;
  is_superuser: boolean;
  /** As the driver returns a `timestamptz`: text, which the snapshot turns into a Date. */
  date_joined: string;
  last_login: string | null;
  /** Exact (microsecond) date joined, only selected when ordering by it. */
  joined_key?: string;
}

const userSnapshot = snapshotFactory(User, [
  'id',
  'username',
  'email',
  'firstName',
  'lastName',
  'isActive',
  'isStaff',
  'isSuperuser',
  'dateJoined',
  'lastLogin',
]);

/** A read-only User built from a row (see snapshotFactory). */
export function userFromRow(row: UserRow): User {
  return userSnapshot({
    id: row.id,
    username: row.username,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    isActive: row.is_active,
    isStaff: row.is_staff,
    isSuperuser: row.is_superuser,
    dateJoined: row.date_joined,
    lastLogin: row.last_login,
  });
}

export interface UserListFilter {
  search?: string | null;
  isActive?: boolean | null;
  isStaff?: boolean | null;
  isSuperuser?: boolean | null;
  groupId?: number | null;
}

function whereOf(filter: UserListFilter): { sql: string[]; params: unknown[] } {
  const sql: string[] = [];
  const params: unknown[] = [];
  const search = filter.search?.trim();
  if (search) {
    const pattern = containsPattern(search);
    sql.push('(u.username ilike ? or u.email ilike ? or u.first_name ilike ? or u.last_name ilike ?)');
    params.push(pattern, pattern, pattern, pattern);
  }
  for (const [column, value] of [
    ['u.is_active', filter.isActive],
    ['u.is_staff', filter.isStaff],
    ['u.is_superuser', filter.isSuperuser],
  ] as const) {
    if (value !== null && value !== undefined) sql.push(value ? column : `not ${column}`);
  }
  if (filter.groupId) {
    sql.push('exists (select 1 from auth_user_groups ug where ug.user_id = u.id and ug.group_id = ?)');
    params.push(filter.groupId);
  }
  return { sql, params };
}

// Microsecond UTC timestamps, exactly as `joined_key` is selected: a cursor never loses precision.
const JOINED_KEY = `to_char(u.date_joined at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as joined_key`;

const byUsername = (order: UserOrder, direction: 'asc' | 'desc') => ({
  keyset: new Keyset<UserRow>([{ type: 'text', column: 'u.username', value: (row) => row.username }], { direction, tag: order }),
  selectsJoinedKey: false,
});

const byDateJoined = (order: UserOrder, direction: 'asc' | 'desc') => ({
  keyset: new Keyset<UserRow>(
    [
      { type: 'timestamp', column: 'u.date_joined', value: (row) => row.joined_key },
      { type: 'integer', column: 'u.id', value: (row) => row.id },
    ],
    // A cursor carries its ordering, so one from another ordering is refused rather than misread.
    { direction, tag: order },
  ),
  selectsJoinedKey: true,
});

const ORDERINGS = {
  [UserOrder.USERNAME_ASC]: byUsername(UserOrder.USERNAME_ASC, 'asc'),
  [UserOrder.USERNAME_DESC]: byUsername(UserOrder.USERNAME_DESC, 'desc'),
  [UserOrder.DATE_JOINED_ASC]: byDateJoined(UserOrder.DATE_JOINED_ASC, 'asc'),
  [UserOrder.DATE_JOINED_DESC]: byDateJoined(UserOrder.DATE_JOINED_DESC, 'desc'),
} as const;

/**
 * One page of users matching `filter`, in `order`, after the cursor `after`: one statement
 * (`totalCount` is a second one, run only when the client asks for it).
 */
export async function listUsers(
  em: EntityManager,
  args: { filter: UserListFilter; order: UserOrder; limit: number; after?: string | null },
): Promise<Page<User>> {
  const ordering = ORDERINGS[args.order];
  const where = whereOf(args.filter);
  const conditions = [...where.sql];
  const params = [...where.params];
  const key = ordering.keyset.decode(args.after);
  if (key) {
    const after = ordering.keyset.sqlAfter(key);
    conditions.push(after.sql);
    params.push(...after.params);
  }
  const rows = await em.execute<UserRow[]>(
    `select ${USER_COLUMNS}${ordering.selectsJoinedKey ? `, ${JOINED_KEY}` : ''} from auth_user u
      ${conditions.length ? `where ${conditions.join(' and ')}` : ''}
      order by ${ordering.keyset.sqlOrderBy()} limit ?`,
    [...params, args.limit + 1],
  );
  return ordering.keyset.page(rows, args.limit, () => countUsers(em, args.filter, where), userFromRow);
}

/**
 * How many users match `filter`. Without a search or a group, from the tally the triggers keep
 * (`UserTally`: a sum over a handful of rows, exact, whatever the number of users); otherwise
 * `count(*)` over the rows the filter finds — with a search, through the trigram indexes.
 */
async function countUsers(em: EntityManager, filter: UserListFilter, where: { sql: string[]; params: unknown[] }): Promise<number> {
  if (!filter.search?.trim() && !filter.groupId) {
    const flags: string[] = [];
    for (const [column, value] of [
      ['t.is_active', filter.isActive],
      ['t.is_staff', filter.isStaff],
      ['t.is_superuser', filter.isSuperuser],
    ] as const) {
      if (value !== null && value !== undefined) flags.push(value ? column : `not ${column}`);
    }
    const [tally] = await em.execute<Array<{ count: string }>>(
      `select coalesce(sum(t.delta), 0) as count from auth_user_tally t ${flags.length ? `where ${flags.join(' and ')}` : ''}`,
    );
    return Number(tally.count);
  }
  const [row] = await em.execute<Array<{ count: string }>>(
    `select count(*) as count from auth_user u ${where.sql.length ? `where ${where.sql.join(' and ')}` : ''}`,
    where.params,
  );
  return Number(row.count);
}

/** The user with `id`, or null. */
export async function findUser(em: EntityManager, id: number): Promise<User | null> {
  const [row] = await em.execute<UserRow[]>(`select ${USER_COLUMNS} from auth_user u where u.id = ?`, [id]);
  return row ? userFromRow(row) : null;
}

/** `[user_id, group_id, group name, source, rule_id]` of auth_user_groups. */
export type MembershipTuple = [number, number, string, string, number | null];

export interface MembershipBatch extends PermissionBatch {
  /** Ordered by user, then group name. */
  memberships: MembershipTuple[];
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

/** The direct permissions of each of `userIds`, in one statement. */
export function loadUserPermissions(em: EntityManager, userIds: readonly number[]): Promise<PermissionBatch> {
  return loadPermissionsOf(em, { table: 'auth_user_user_permissions', ownerColumn: 'user_id' }, userIds);
}

/** The tally is compacted once it holds more rows than this (summing them stays well under a millisecond). */
const TALLY_COMPACT_AT = 1000;

/**
 * Folds the tally's deltas into one row per (isActive, isStaff, isSuperuser), dropping those that
 * sum to nothing; returns how many rows it removed. One statement, so the sums never change; two
 * instances compacting at once each fold only the rows they deleted. Run by housekeeping; does
 * nothing while the tally has at most `minRows` rows.
 */
export async function compactUserTally(em: EntityManager, minRows = TALLY_COMPACT_AT): Promise<number> {
  const [row] = await em.execute<Array<{ removed: string }>>(
    `with gone as (delete from auth_user_tally where (select count(*) from auth_user_tally) > ? returning is_active, is_staff, is_superuser, delta),
          kept as (insert into auth_user_tally (is_active, is_staff, is_superuser, delta)
                     select is_active, is_staff, is_superuser, sum(delta) from gone group by 1, 2, 3 having sum(delta) <> 0
                   returning 1)
     select (select count(*) from gone) - (select count(*) from kept) as removed`,
    [minRows],
  );
  return Number(row.removed);
}
