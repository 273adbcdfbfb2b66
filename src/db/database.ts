import type { MikroORM } from '@mikro-orm/postgresql';
import path from 'node:path';
import type { Config } from '../config/env';
import type { Logger } from '../config/logger';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded';
import { openOrm } from './orm';

/** The database Gatehouse runs on: PostgreSQL from `DATABASE_URL`, or the embedded default. */
export interface Database {
  readonly orm: MikroORM;
  readonly kind: 'postgresql' | 'embedded';
  close(): Promise<void>;
}

/** A database that cannot be reached or opened; the message says which and why, without secrets. */
export class DatabaseUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseUnavailableError';
  }
}

/**
 * Opens the configured database and checks that it answers. With no `DATABASE_URL` the
 * embedded PostgreSQL is started on `<DATA_DIR>/pglite`.
 */
export async function openDatabase(config: Config, logger: Logger, options: { onQuery?: (sql: string) => void } = {}): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  if (!config.DATABASE_URL) {
    const dataDir = path.join(config.DATA_DIR, 'pglite');
    try {
      embedded = await startEmbeddedPostgres(dataDir);
    } catch (error) {
      throw new DatabaseUnavailableError(`cannot open the embedded database in ${dataDir}: ${reason(error)}`, { cause: error });
    }
    logger.info({ dataDir }, 'using the embedded database (set DATABASE_URL to use PostgreSQL)');
  }
  const clientUrl = embedded?.url ?? config.DATABASE_URL!;
  let orm: MikroORM | undefined;
  try {
    orm = await openOrm({ clientUrl, poolMax: embedded ? 1 : config.DATABASE_POOL_MAX, onQuery: options.onQuery, logger });
    await orm.em.fork().getConnection().execute('select 1');
  } catch (error) {
    await orm?.close(true).catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw new DatabaseUnavailableError(`cannot reach the database at ${describeUrl(clientUrl)}: ${reason(error)}`, { cause: error });
  }
  return {
    orm: orm!,
    kind: embedded ? 'embedded' : 'postgresql',
    async close() {
      await orm!.close(true);
      await embedded?.stop();
    },
  };
}

function describeUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
}

/** The first line of what went wrong; a connection refused on every address has no message of its own. */
function reason(error: unknown): string {
  const inner = error instanceof AggregateError && error.errors.length ? error.errors[0] : error;
  const { message, code } = (inner ?? {}) as { message?: string; code?: string };
  return (message?.split('\n')[0] || code || String(inner)).trim();
}
