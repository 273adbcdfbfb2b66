import { LogEntry } from '../../src/audit/log-entry.entity';
import type { User } from '../../src/users/user.entity';
import type { UserFieldsFragment } from '../generated/graphql';
import { globalIdOf, keyOf } from '../support/global-ids';
import type { TestServer } from '../support/server';

/** The admin-log entries about one user or group (its database key, or its global id), oldest first. */
export function logEntriesOf(server: TestServer, model: 'user' | 'group', objectId: number | string): Promise<LogEntry[]> {
  const key = typeof objectId === 'number' ? String(objectId) : keyOf(objectId);
  return server.db.orm.em.fork().find(LogEntry, { appLabel: 'auth', model, objectId: key }, { orderBy: { id: 'asc' } });
}

/** The `UserFields` the API should answer for `user` as it was made, with `changes` applied. */
export function userFields(user: User, changes: Partial<UserFieldsFragment> = {}): UserFieldsFragment {
  const { username, email, firstName, lastName, isActive, isStaff, isSuperuser } = user;
  return { id: globalIdOf(user), username, email, firstName, lastName, isActive, isStaff, isSuperuser, ...changes };
}
