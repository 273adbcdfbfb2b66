import pino from 'pino';
import { startGatehouse, type Gatehouse } from '../../../src/app';
import { loadConfig } from '../../../src/config/env';
import type { Logger } from '../../../src/config/logger';
import type { HousekeepingSchedule } from '../../../src/db/housekeeping';
import { createTestDatabase, type TestDatabase } from '../../support/database';

/** One JSON log line as pino writes it. */
export interface LogRecord {
  level: number;
  msg: string;
  err?: { type?: string; message?: string; stack?: string; code?: string };
  [key: string]: unknown;
}

/** A real pino logger (debug level) whose lines are kept in `records` instead of printed. */
export function captureLogs(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => records.push(JSON.parse(line) as LogRecord) });
  return { logger, records };
}

/** The records whose message is `msg`, as JSON text too (to search the whole serialised error chain). */
export function logged(records: readonly LogRecord[], msg: string): { records: LogRecord[]; text: string } {
  const found = records.filter((r) => r.msg === msg);
  return { records: found, text: JSON.stringify(found) };
}

/** Gatehouse on a database of its own, like startTestServer, but with its log lines kept for the test to read. */
export interface LoggedGatehouse {
  readonly url: string;
  readonly db: TestDatabase;
  readonly gatehouse: Gatehouse;
  readonly logs: LogRecord[];
  stop(): Promise<void>;
}

export async function startLoggedGatehouse(
  env: Record<string, string>,
  options: { housekeeping?: HousekeepingSchedule; db?: TestDatabase } = {},
): Promise<LoggedGatehouse> {
  const db = options.db ?? (await createTestDatabase());
  const { logger, records } = captureLogs();
  const config = loadConfig({ NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', DATABASE_URL: db.url, ...env });
  const gatehouse = await startGatehouse(config, logger, { housekeeping: options.housekeeping });
  return {
    url: gatehouse.http.url,
    db,
    gatehouse,
    logs: records,
    async stop() {
      await gatehouse.stop();
      if (!options.db) await db.drop();
    },
  };
}
