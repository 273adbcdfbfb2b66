import fs from 'node:fs';
import { ALL_PERMISSIONS } from '../../src/permissions/registry';
import { MIGRATIONS_DIR } from '../../src/db/orm';
import { createEmptyDatabase } from '../support/database';
import { expectOneLine, gatehouse, query } from './run-gatehouse';

const migrationNames = () =>
  fs
    .readdirSync(MIGRATIONS_DIR)
    .filter((file) => /^Migration.*\.ts$/.test(file))
    .map((file) => file.replace(/\.ts$/, ''))
    .sort();

describe('gatehouse migrate / check / makemigrations --check', () => {
  let database: { url: string; drop(): Promise<void> };
  beforeAll(async () => {
    database = await createEmptyDatabase();
  });
  afterAll(() => database.drop());

  const run = (...args: string[]) => gatehouse(args, { DATABASE_URL: database.url });

  // The steps share one database and run in order: empty → migrated → checked.
  it('check on an empty database exits 1 naming the pending migrations', async () => {
    const result = await run('check');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('configuration ok (database: postgresql)\n');
    const line = expectOneLine(result.stderr);
    expect(line).toBe(
      `error: [gatehouse.database.E001] ${migrationNames().length} pending migration(s) (${migrationNames().join(', ')}); hint: run \`gatehouse migrate\``,
    );
  });

  it('seed and createsuperuser on an unmigrated database refuse with one line and write nothing', async () => {
    for (const args of [['seed'], ['createsuperuser', '--no-input', '--username', 'ada', '--password', 'long enough password']]) {
      const result = await run(...args);
      expect(result.code).toBe(1);
      expect(expectOneLine(result.stderr)).toMatch(
        /^gatehouse \w+: the database is not migrated \(\d+ pending migration\(s\)\): run `gatehouse migrate` first$/,
      );
    }
    const tables = await query(
      database.url,
      "select table_name from information_schema.tables where table_schema = 'public' and table_name <> 'gatehouse_migrations'",
    );
    expect(tables).toEqual([]);
  });

  it('migrate applies every migration and creates the permissions, saying so', async () => {
    const result = await run('migrate');
    expect(result).toEqual({
      code: 0,
      stdout: `applied ${migrationNames().length} migration(s): ${migrationNames().join(', ')}\npermissions: ${ALL_PERMISSIONS.length} created, 0 renamed\n`,
      stderr: '',
    });
    const applied = await query<{ name: string }>(database.url, 'select name from gatehouse_migrations order by name');
    expect(applied.map((row) => row.name)).toEqual(migrationNames());
    const perms = await query<{ full_name: string; name: string }>(
      database.url,
      "select app_label || '.' || codename as full_name, name from auth_permission order by 1",
    );
    expect(perms).toEqual(
      ALL_PERMISSIONS.map((p) => ({ full_name: p.fullName, name: p.name })).sort((a, b) => a.full_name.localeCompare(b.full_name)),
    );
  });

  it('migrate a second time changes nothing and says so', async () => {
    const before = await query(database.url, 'select * from auth_permission order by id');
    const result = await run('migrate');
    expect(result).toEqual({ code: 0, stdout: 'no migrations to apply\npermissions up to date\n', stderr: '' });
    expect(await query(database.url, 'select * from auth_permission order by id')).toEqual(before);
    expect(await query(database.url, 'select count(*)::int as n from gatehouse_migrations')).toEqual([{ n: migrationNames().length }]);
  });

  it('migrate restores a deleted permission and the name of a renamed one', async () => {
    await query(database.url, "delete from auth_permission where app_label = 'core' and codename = 'add_tweet'");
    await query(database.url, "update auth_permission set name = 'Can see users' where app_label = 'auth' and codename = 'view_user'");
    const result = await run('migrate');
    expect(result.stdout).toBe('no migrations to apply\npermissions: 1 created, 1 renamed\n');
    const rows = await query(
      database.url,
      "select codename, name from auth_permission where codename in ('add_tweet', 'view_user') order by codename",
    );
    expect(rows).toEqual([
      { codename: 'add_tweet', name: 'Can add tweet' },
      { codename: 'view_user', name: 'Can view user' },
    ]);
  });

  it('check on the migrated database exits 0', async () => {
    const result = await run('check');
    expect(result).toEqual({
      code: 0,
      stdout: 'configuration ok (database: postgresql)\ndatabase ok: migrated, schema matches the entities, permissions in sync\n',
      stderr: '',
    });
  });

  it('check names permissions missing from the database', async () => {
    await query(database.url, "delete from auth_permission where app_label = 'core' and codename = 'delete_language'");
    const result = await run('check');
    expect(result.code).toBe(1);
    expect(expectOneLine(result.stderr)).toBe(
      'error: [gatehouse.database.E003] permissions missing from the database: core.delete_language; hint: run `gatehouse migrate`',
    );
    expect((await run('migrate')).code).toBe(0);
  });

  it('check names a schema that has drifted from the entities', async () => {
    await query(database.url, 'alter table core_tweet add column drift int');
    const result = await run('check');
    expect(result.code).toBe(1);
    expect(expectOneLine(result.stderr)).toBe(
      'error: [gatehouse.database.E002] the database schema differs from the entities; hint: a migration is missing: write it with `gatehouse makemigrations`',
    );
    await query(database.url, 'alter table core_tweet drop column drift');
  });

  it('makemigrations --check agrees that the migrations match the entities, writing nothing', async () => {
    const before = fs.readdirSync(MIGRATIONS_DIR);
    const result = await run('makemigrations', '--check');
    expect(result).toEqual({ code: 0, stdout: 'migrations match the entities\n', stderr: '' });
    expect(fs.readdirSync(MIGRATIONS_DIR)).toEqual(before);
  });
});
