import { LogEntry } from '../../src/audit/log-entry.entity';
import type { User } from '../../src/users/user.entity';
import type { UserFieldsFragment } from '../generated/graphql';
import type { TestServer } from '../support/server';

/** The admin-log entries about one user or group, oldest first. */
export function logEntriesOf(server: TestServer, model: 'user' | 'group', objectId: number | string): Promise<LogEntry[]> {
  return server.db.orm.em.fork().find(LogEntry, { appLabel: 'auth', model, objectId: String(objectId) }, { orderBy: { id: 'asc' } });
}

/** The `UserFields` the API should answer for `user` as it was made, with `changes` applied. */
export function userFields(user: User, changes: Partial<UserFieldsFragment> = {}): UserFieldsFragment {
  const { username, email, firstName, lastName, isActive, isStaff, isSuperuser } = user;
  return { id: String(user.id), username, email, firstName, lastName, isActive, isStaff, isSuperuser, ...changes };
}
