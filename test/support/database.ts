import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { randomBytes } from 'node:crypto';
import { openOrm } from '../../src/db/orm';

export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A PostgreSQL database of its own for one test file, cloned from the migrated template. */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  readonly orm: MikroORM;
  /** Every SQL statement the ORM ran since the last `resetQueries()`. */
  readonly queries: string[];
  resetQueries(): void;
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

/** Creates an empty migrated database (permissions synced, nothing else) for this test file. */
export async function createTestDatabase(options: { poolMax?: number } = {}): Promise<TestDatabase> {
  const template = process.env.GATEHOUSE_TEST_TEMPLATE;
  if (!template) throw new Error('GATEHOUSE_TEST_TEMPLATE is unset: run the tests through jest (test/support/global-setup.js)');
  const name = `gatehouse_t_${Date.now()}_${randomBytes(4).toString('hex')}`;
  await admin((client) => client.query(`create database "${name}" template "${template}"`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const queries: string[] = [];
  const orm = await openOrm({ clientUrl: url.toString(), poolMax: options.poolMax ?? 4, onQuery: (sql) => queries.push(sql) });
  return {
    name,
    url: url.toString(),
    orm,
    queries,
    resetQueries: () => {
      queries.length = 0;
    },
    async drop() {
      await orm.close(true);
      await admin((client) => client.query(`drop database if exists "${name}" with (force)`));
    },
  };
}
