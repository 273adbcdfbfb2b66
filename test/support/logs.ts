import pino from 'pino';
import type { Logger } from '../../src/config/logger';

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
