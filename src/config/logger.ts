import pino, { type Logger } from 'pino';

export type { Logger };

/** The process logger: JSON lines on stdout, level from `LOG_LEVEL`. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'gatehouse' }, redact: ['req.headers.authorization', 'req.headers.cookie'] });
}
