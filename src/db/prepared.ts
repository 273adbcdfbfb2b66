import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * A statement run on every request, kept by PostgreSQL as a named prepared statement with
 * server-side parameters. MikroORM writes every value into the SQL text, so PostgreSQL parses
 * and plans each such statement again (for the session lookup, planning cost several times the
 * execution); prepared, it is parsed once per pooled connection and its plan reused.
 *
 * `sql` uses `?` placeholders, as `em.execute` does.
 *
 * @example
 *   const byId = preparedStatement('gatehouse_user_by_id', 'select * from auth_user where id = ?');
 *   const rows = await executePrepared(em, byId, [1]);
 */
export interface PreparedStatement {
  readonly name: string;
  /** With `?` placeholders, for `em.execute`. */
  readonly sql: string;
  /** With `$1`, `$2`…, for PostgreSQL. */
  readonly text: string;
}

export function preparedStatement(name: string, sql: string): PreparedStatement {
  let n = 0;
  return { name, sql, text: sql.replace(/\?/g, () => `$${++n}`) };
}

/** PostgreSQL's codes for a prepared statement that already exists or does not: the connection's backend is not the one `pg` believes. */
const PREPARED_STATEMENT_MISMATCH = new Set(['42P05', '26000']);

/** Pools whose backends do not keep prepared statements per connection: from then on, `em.execute`. */
const unprepared = new WeakSet<object>();

interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}
interface KnexClient {
  acquireConnection(): Promise<PgClient>;
  releaseConnection(connection: PgClient): Promise<unknown>;
}

/**
 * Runs `statement` on a pooled connection as a prepared statement, outside any transaction, and
 * logs it as MikroORM logs its own (the statement-count tests read that log). Inside `em`'s
 * transaction it runs through `em.execute` instead, on the transaction's connection; so it does
 * where the connection's backend does not keep what `pg` prepared on it (the embedded database
 * shares one backend between its connections).
 */
export async function executePrepared<T>(em: EntityManager, statement: PreparedStatement, values: unknown[]): Promise<T[]> {
  const client = em.getConnection().getKnex().client as KnexClient;
  if (em.getTransactionContext() || unprepared.has(client)) return em.execute<T[]>(statement.sql, values);
  const started = Date.now();
  const pg = await client.acquireConnection();
  let rows: unknown[];
  try {
    ({ rows } = await pg.query({ name: statement.name, text: statement.text, values }));
  } catch (error) {
    if (!PREPARED_STATEMENT_MISMATCH.has((error as { code?: string }).code ?? '')) throw error;
    unprepared.add(client);
    rows = [];
  } finally {
    await client.releaseConnection(pg);
  }
  // With the connection back in the pool: the embedded database's pool holds one.
  if (unprepared.has(client)) return em.execute<T[]>(statement.sql, values);
  em.config.getLogger().logQuery({ query: statement.text, took: Date.now() - started, results: rows.length, level: 'info' });
  return rows as T[];
}
