import type { MikroORM } from '@mikro-orm/postgresql';
import { readdirSync } from 'node:fs';
import { syncPermissions, type SyncResult } from '../permissions/sync';

export interface MigrateResult {
  applied: string[];
  permissions: SyncResult;
}

/**
 * Applies pending migrations (all or nothing) and then synchronises the permission table
 * with the model registry. Safe to run at every start and from several instances at once:
 * on PostgreSQL the migrations run under a transaction-scoped advisory lock, so a second
 * instance waits and then finds nothing to do; the permission sync is one idempotent upsert.
 */
export async function migrate(orm: MikroORM): Promise<MigrateResult> {
  const applied = await applyMigrations(orm);
  const permissions = await syncPermissions(orm.em.fork());
  return { applied, permissions };
}

/** Applies pending migrations only; returns their names. */
export async function applyMigrations(orm: MikroORM): Promise<string[]> {
  if (await allApplied(orm)) return [];
  const migrator = orm.getMigrator();
  await migrator.getPendingMigrations(); // creates the bookkeeping table outside the transaction
  let applied: Array<{ name: string }>;
  if (poolSize(orm) > 1) {
    applied = await orm.em.fork().transactional(async (em) => {
      await em.execute('select pg_advisory_xact_lock(hashtext(?))', ['gatehouse:migrate']);
      return migrator.up({ transaction: em.getTransactionContext() });
    });
  } else {
    // A one-connection pool is the embedded database, which a single process owns (see
    // embedded.ts; a command beside a running server never migrates it, see cli/migrate.ts); the migrator's own bookkeeping queries would wait forever for a second
    // connection while the locking transaction held the only one.
    applied = await migrator.up();
  }
  return applied.map((m) => m.name);
}

/**
 * True when every migration file is recorded as applied, found with one query and without
 * loading the migrator: @mikro-orm/migrations (umzug and the command-line parser it brings)
 * takes about a third of a start to load, and at most starts there is nothing to apply.
 */
async function allApplied(orm: MikroORM): Promise<boolean> {
  const { path: dir, tableName } = orm.config.get('migrations');
  const files = readdirSync(dir!)
    .filter((file) => /\.(js|ts)$/.test(file) && !file.endsWith('.d.ts'))
    .map((file) => file.replace(/\.(js|ts)$/, ''));
  let applied: Set<string>;
  try {
    const rows = await orm.em.getConnection().execute<Array<{ name: string }>>(`select name from ${tableName}`);
    applied = new Set(rows.map((row) => row.name));
  } catch {
    return false; // no bookkeeping table yet: a new database
  }
  return files.every((name) => applied.has(name));
}

/** Names of the migrations that are not applied yet. */
export async function pendingMigrations(orm: MikroORM): Promise<string[]> {
  return (await orm.getMigrator().getPendingMigrations()).map((m) => m.name);
}

/** True when the entities describe a schema that the applied migrations do not produce. */
export async function migrationNeeded(orm: MikroORM): Promise<boolean> {
  return orm.getMigrator().checkMigrationNeeded();
}

function poolSize(orm: MikroORM): number {
  return orm.config.get('pool')?.max ?? 1;
}

/** The database lacks migrations this code needs. */
export class NotMigratedError extends Error {
  constructor(pending: string[]) {
    super(`the database is not migrated (${pending.length} pending migration(s)): run \`gatehouse migrate\` first`);
    this.name = 'NotMigratedError';
  }
}

/** Throws NotMigratedError when migrations are pending. */
export async function assertMigrated(orm: MikroORM): Promise<void> {
  const pending = await pendingMigrations(orm);
  if (pending.length > 0) throw new NotMigratedError(pending);
}
