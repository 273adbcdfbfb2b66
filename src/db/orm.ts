import { defineConfig, MikroORM, type Options } from '@mikro-orm/postgresql';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/env';
import type { Logger } from '../config/logger';
import { ENTITIES } from './entities';

/** Where `makemigrations` writes: the TypeScript migrations of the project. */
export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'migrations');
/**
 * Where the migrations that run are loaded from: beside this module's own tree, so the compiled
 * build (`dist/<digest>/src/db/orm.js`) runs its compiled `dist/<digest>/migrations/*.js` and
 * the tests (TypeScript through @swc/jest) the sources.
 */
const RUNNABLE_MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'migrations');

export interface OrmOptions {
  clientUrl: string;
  poolMax: number;
  /** Called with every SQL statement the ORM runs (tests count them). */
  onQuery?: (sql: string) => void;
  /** Receives the driver's warnings (e.g. a pooled connection that the server closed), which otherwise go to the console. */
  logger?: Logger;
}

/** MikroORM configuration shared by the service, the command-line tool and the tests. */
export function ormConfig({ clientUrl, poolMax, onQuery, logger }: OrmOptions): Options {
  return defineConfig({
    clientUrl,
    entities: ENTITIES,
    // No `extensions: [Migrator]`: MikroORM loads @mikro-orm/migrations on the first
    // orm.getMigrator(), which a start with nothing to migrate never calls (see migrate.ts).
    migrations: {
      tableName: 'gatehouse_migrations',
      path: RUNNABLE_MIGRATIONS_DIR,
      pathTs: MIGRATIONS_DIR,
      glob: '!(*.d).{js,ts}',
      silent: true,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts',
      fileName: (timestamp, name) => `Migration${timestamp}${name ? '_' + name : ''}`,
    },
    pool: { min: 0, max: poolMax },
    forceUtcTimezone: true,
    ensureDatabase: false,
    // Never guessed from the command line: the migrations path above is right in both forms.
    preferTs: false,
    allowGlobalContext: false,
    discovery: { warnWhenNoEntities: true },
    ...(logger ? { driverOptions: { log: driverLog(logger) } } : {}),
    ...(onQuery ? { debug: ['query'] as const, logger: (message: string) => onQuery(message) } : { debug: false }),
  });
}

export async function openOrm(options: OrmOptions): Promise<MikroORM> {
  return MikroORM.init(ormConfig(options));
}

/** The connections of the ORM's pool (tarn, under knex): in use, idle, awaited; null before it exists. */
export function poolUsage(orm: MikroORM): { used: number; free: number; pending: number; max: number } | null {
  const pool = (orm.em.getConnection() as unknown as { getKnex(): { client: { pool?: TarnPool } } }).getKnex().client.pool;
  if (!pool) return null;
  return { used: pool.numUsed(), free: pool.numFree(), pending: pool.numPendingAcquires(), max: pool.max };
}

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  readonly max: number;
}

/** knex's log hooks, into the service's JSON log instead of bare console lines. */
function driverLog(logger: Logger) {
  const at = (level: 'debug' | 'warn' | 'error') => (message: unknown) => logger[level]({ driver: message }, 'database driver');
  return { debug: at('debug'), warn: at('warn'), error: at('error'), deprecate: at('warn') };
}
