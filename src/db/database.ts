import type { MikroORM } from '@mikro-orm/postgresql';
import path from 'node:path';
import type { Config } from '../config/env';
import type { Logger } from '../config/logger';
import { embeddedHolder, isRunning, startEmbeddedPostgres, type EmbeddedPostgres, type EmbeddedServerRecord } from './embedded';
import { openOrm } from './orm';

/** The database Gatehouse runs on: PostgreSQL from `DATABASE_URL`, or the embedded default. */
export interface Database {
  readonly orm: MikroORM;
  readonly kind: 'postgresql' | 'embedded';
  /** Set when this is the embedded database of another running Gatehouse process, reached through its server. */
  readonly through?: { readonly pid: number };
  /** Lets commands run beside this process reach its embedded database (see `EmbeddedPostgres.announce`); nothing on PostgreSQL. */
  announce(): void;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  onQuery?: (sql: string) => void;
  /**
   * When another live Gatehouse process holds the embedded database and has announced where it
   * listens, connect through it instead of being refused (what `gatehouse` commands do beside
   * `npm start`); wait up to `startingTimeoutMs` for one that is still starting to announce itself.
   */
  besideRunningServer?: { startingTimeoutMs: number };
}

/**
 * A command needs the embedded database to itself while a Gatehouse server holds it: the
 * message says why and which process to stop.
 */
export class RunningServerError extends Error {
  constructor(
    readonly pid: number,
    why: string,
  ) {
    super(
      `${why}, and the embedded database is held by the running Gatehouse server (pid ${pid}): stop it (kill ${pid}) and run this again`,
    );
    this.name = 'RunningServerError';
  }
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
export async function openDatabase(config: Config, logger: Logger, options: OpenDatabaseOptions = {}): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  if (!config.DATABASE_URL) {
    const dataDir = path.join(config.DATA_DIR, 'pglite');
    if (options.besideRunningServer) {
      const record = await runningServer(dataDir, options.besideRunningServer.startingTimeoutMs);
      const through = record && (await connectThrough(record, dataDir, logger, options));
      if (through) return through;
    }
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
    announce: () => embedded?.announce(),
    async close() {
      await orm!.close(true);
      await embedded?.stop();
    },
  };
}

/** The announced server holding `dataDir`, waiting a while for one that holds it but is still starting. */
async function runningServer(dataDir: string, startingTimeoutMs: number): Promise<EmbeddedServerRecord | null> {
  const deadline = Date.now() + startingTimeoutMs;
  for (;;) {
    const holder = embeddedHolder(dataDir);
    if (holder.kind === 'server') return holder.record;
    // Free: open it directly. Busy past the deadline: opening it is refused, naming the holder.
    if (holder.kind === 'free' || Date.now() >= deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Connects to the running server's embedded database (one connection: they share PGlite's
 * single session). Null when its process died meanwhile, so that the caller opens it directly.
 */
async function connectThrough(
  record: EmbeddedServerRecord,
  dataDir: string,
  logger: Logger,
  options: OpenDatabaseOptions,
): Promise<Database | null> {
  const clientUrl = `postgres://postgres@${record.host.includes(':') ? `[${record.host}]` : record.host}:${record.port}/postgres`;
  let orm: MikroORM | undefined;
  try {
    orm = await openOrm({ clientUrl, poolMax: 1, onQuery: options.onQuery, logger });
    await orm.em.fork().getConnection().execute('select 1');
  } catch (error) {
    await orm?.close(true).catch(() => undefined);
    if (!isRunning(record.pid)) return null;
    throw new DatabaseUnavailableError(
      `cannot reach the embedded database in ${dataDir} through the Gatehouse server that holds it (pid ${record.pid}) at ${record.host}:${record.port}: ${reason(error)}`,
      { cause: error },
    );
  }
  logger.info({ dataDir, pid: record.pid }, 'using the embedded database through the running Gatehouse server');
  const opened = orm;
  return {
    orm: opened,
    kind: 'embedded',
    through: { pid: record.pid },
    announce: () => undefined,
    close: () => opened.close(true),
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
