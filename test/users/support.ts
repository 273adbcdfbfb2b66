import { LogEntry } from '../../src/audit/log-entry.entity';
import type { TestServer } from '../support/server';

/** The admin-log entries about one user or group, oldest first. */
export function logEntriesOf(server: TestServer, model: 'user' | 'group', objectId: number | string): Promise<LogEntry[]> {
  return server.db.orm.em.fork().find(LogEntry, { appLabel: 'auth', model, objectId: String(objectId) }, { orderBy: { id: 'asc' } });
}
