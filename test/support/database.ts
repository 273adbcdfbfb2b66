import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { randomBytes } from 'node:crypto';
import { openOrm } from '../../src/db/orm';
import { snapshotDatabase, type DatabaseSnapshot } from './snapshot';

/*
 * The one test-database scaffold: every test that needs PostgreSQL gets a database of its own
 * here — a clone of the migrated template (createTestDatabase) or an empty one (createEmptyDatabase)
 * — and test/support/server.ts starts Gatehouse on it.
 */

export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A PostgreSQL database of its own for one test file, cloned from the migrated template. */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  readonly orm: MikroORM;
  /** Every SQL statement the ORM ran since the last `resetQueries()`. */
  readonly queries: string[];
  resetQueries(): void;
  /** Every data table's row count and content digest: compare two to prove nothing was written (see snapshot.ts). */
  snapshot(): Promise<DatabaseSnapshot>;
  drop(): Promise<void>;
}

/** Runs `fn` with a client on the maintenance database (creating and dropping databases). */
export async function admin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The URL of database `name` on the test server. */
function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

// Named so that global-setup.js drops the ones a crashed run left behind.
const uniqueName = (suffix = '') => `gatehouse_t_${Date.now()}_${randomBytes(4).toString('hex')}${suffix}`;

/** Creates an empty migrated database (permissions synced, nothing else) for this test file. */
export async function createTestDatabase(options: { poolMax?: number } = {}): Promise<TestDatabase> {
  const template = process.env.GATEHOUSE_TEST_TEMPLATE;
  if (!template) throw new Error('GATEHOUSE_TEST_TEMPLATE is unset: run the tests through jest (test/support/global-setup.js)');
  const name = uniqueName();
  await admin((client) => client.query(`create database "${name}" template "${template}"`));
  const url = databaseUrl(name);
  const queries: string[] = [];
  const orm = await openOrm({ clientUrl: url, poolMax: options.poolMax ?? 4, onQuery: (sql) => queries.push(sql) });
  return {
    name,
    url,
    orm,
    queries,
    resetQueries: () => {
      queries.length = 0;
    },
    snapshot: () => snapshotDatabase(orm.em.fork()),
    async drop() {
      await orm.close(true);
      await admin((client) => client.query(`drop database if exists "${name}" with (force)`));
    },
  };
}

/** A PostgreSQL database with nothing in it, not even the migrations table. */
export async function createEmptyDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = uniqueName('_empty');
  await admin((client) => client.query(`create database "${name}"`));
  return {
    name,
    url: databaseUrl(name),
    drop: () => admin((client) => client.query(`drop database if exists "${name}" with (force)`)).then(() => undefined),
  };
}
