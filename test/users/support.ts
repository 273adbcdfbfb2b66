import { LogEntry } from '../../src/audit/log-entry.entity';
import type { PermissionName } from '../../src/permissions/registry';
import type { User } from '../../src/users/user.entity';
import { makeGroup, makeUser, type UserSpec } from '../support/factories';
import type { GraphQLResponse, TestServer } from '../support/server';

export interface Caller {
  user: User;
  token: string;
}

/** A user holding `perms` through a group (not directly, not a superuser), signed in through `login`. */
export async function callerWith(server: TestServer, perms: readonly PermissionName[], spec: UserSpec = {}): Promise<Caller> {
  const em = server.db.orm.em.fork();
  const group = await makeGroup(em, perms);
  const user = await makeUser(em, { ...spec, groups: [group, ...(spec.groups ?? [])] });
  return { user, token: await server.signIn(user) };
}

/** An active superuser with no group, signed in. */
export async function superuser(server: TestServer): Promise<Caller> {
  const user = await makeUser(server.db.orm.em.fork(), { isSuperuser: true, isStaff: true });
  return { user, token: await server.signIn(user) };
}

/** The one error of a response, asserting there is exactly one. */
export function onlyError(result: GraphQLResponse): { message: string; extensions: Record<string, unknown> } {
  expect(result.errors).toHaveLength(1);
  const [error] = result.errors!;
  return { message: error.message, extensions: error.extensions ?? {} };
}

/** The admin-log entries about one object, oldest first. */
export function logEntriesOf(server: TestServer, model: 'user' | 'group', objectId: number | string): Promise<LogEntry[]> {
  return server.db.orm.em.fork().find(LogEntry, { appLabel: 'auth', model, objectId: String(objectId) }, { orderBy: { id: 'asc' } });
}

/** How many rows `table` holds; to assert that a refused operation wrote nothing. */
export async function countRows(server: TestServer, table: string): Promise<number> {
  const [row] = await server.db.orm.em.fork().execute<Array<{ count: string }>>(`select count(*) as count from ${table}`);
  return Number(row.count);
}

/** Row counts of every table an admin operation on users or groups may touch. */
export async function snapshotCounts(server: TestServer): Promise<Record<string, number>> {
  const tables = [
    'auth_user',
    'auth_group',
    'auth_user_groups',
    'auth_group_permissions',
    'auth_user_user_permissions',
    'auth_session',
    'admin_logentry',
  ];
  const counts: Record<string, number> = {};
  for (const table of tables) counts[table] = await countRows(server, table);
  return counts;
}
