import type { EntityManager } from '@mikro-orm/postgresql';

/** Every table of a test database, by name: its row count and a digest of its whole content. */
export type DatabaseSnapshot = Record<string, string>;

// Not data: the migrations table, and the bookkeeping every attempt writes whatever its outcome
// (throttle counters; the single sign-on login transaction, used up by its callback).
const NOT_DATA = new Set(['gatehouse_migrations', 'auth_login_throttle', 'sso_login_transaction']);
// Counted, not digested: a request moves its own session's `last_seen_at`.
const COUNTED_ONLY = new Set(['auth_session']);

/**
 * The one "nothing was written" check of the tests: every data table of the database with its
 * row count and a digest of its rows, so that
 *
 *     const before = await server.db.snapshot();
 *     // … a call that must be refused …
 *     expect(await server.db.snapshot()).toEqual(before);
 *
 * fails naming each table that changed. A new table is covered as soon as a migration creates it.
 */
export async function snapshotDatabase(em: EntityManager): Promise<DatabaseSnapshot> {
  const tables = await em.execute<Array<{ table_name: string }>>(
    `select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
  );
  const snapshot: DatabaseSnapshot = {};
  for (const { table_name: table } of tables) {
    if (NOT_DATA.has(table)) continue;
    const digest = COUNTED_ONLY.has(table) ? `'counted only'` : `md5(coalesce(string_agg(t::text, E'\\n' order by t::text), ''))`;
    const [row] = await em.execute<Array<{ rows: number; digest: string }>>(
      `select count(*)::int as rows, ${digest} as digest from "${table}" t`,
    );
    snapshot[table] = `${row.rows} rows, ${row.digest}`;
  }
  return snapshot;
}

/**
 * The tables whose content differs between two snapshots, each with how many rows it gained (a
 * negative number: lost). `{}` when nothing was written; `{ admin_logentry: 1 }` when the only
 * write was one admin-log entry.
 */
export function writtenSince(before: DatabaseSnapshot, after: DatabaseSnapshot): Record<string, number> {
  const rows = (entry: string | undefined) => Number(/^(\d+) rows/.exec(entry ?? '0 rows')![1]);
  const changed: Record<string, number> = {};
  for (const table of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (before[table] !== after[table]) changed[table] = rows(after[table]) - rows(before[table]);
  }
  return changed;
}
