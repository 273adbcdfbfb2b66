import type { MikroORM } from '@mikro-orm/postgresql';
import fs from 'node:fs';
import { migrate, migrationNeeded, pendingMigrations } from '../../src/db/migrate';
import { MIGRATIONS_DIR, openOrm } from '../../src/db/orm';
import { syncPermissions } from '../../src/permissions/sync';
import { ALL_PERMISSIONS } from '../../src/permissions/registry';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '../support/database';

async function permissionRows(orm: MikroORM) {
  return orm.em
    .fork()
    .execute<Array<{ app_label: string; model: string; codename: string; name: string }>>(
      'select app_label, model, codename, name from auth_permission order by app_label, codename',
    );
}

const expectedRows = () =>
  ALL_PERMISSIONS.map((p) => ({ app_label: p.appLabel, model: p.model, codename: p.codename, name: p.name })).sort((a, b) =>
    a.app_label === b.app_label ? a.codename.localeCompare(b.codename) : a.app_label.localeCompare(b.app_label),
  );

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('agree with the entities on a freshly migrated database: nothing pending, no migration needed', async () => {
    expect(await pendingMigrations(db.orm)).toEqual([]);
    expect(await migrationNeeded(db.orm)).toBe(false);
  });

  it('are all applied, one per file in migrations/', async () => {
    const files = fs.readdirSync(MIGRATIONS_DIR).filter((file) => /^Migration.*\.ts$/.test(file) && !file.endsWith('.d.ts'));
    const applied = await db.orm.getMigrator().getExecutedMigrations();
    expect(applied.map((m) => m.name).sort()).toEqual(files.map((file) => file.replace(/\.ts$/, '')).sort());
  });

  it('apply nothing a second time', async () => {
    expect(await migrate(db.orm)).toEqual({ applied: [], permissions: { created: 0, updated: 0 } });
  });

  describe('on an empty database', () => {
    let empty: Awaited<ReturnType<typeof createEmptyDatabase>>;
    const orms: MikroORM[] = [];
    beforeAll(async () => {
      empty = await createEmptyDatabase();
    });
    afterAll(async () => {
      await Promise.all(orms.map((orm) => orm.close(true)));
      await empty?.drop();
    });

    it('are applied exactly once when two instances start together, leaving the schema equal to the entities', async () => {
      orms.push(await openOrm({ clientUrl: empty.url, poolMax: 4 }), await openOrm({ clientUrl: empty.url, poolMax: 4 }));
      expect((await pendingMigrations(orms[0])).length).toBeGreaterThan(0);
      const [first, second] = await Promise.all(orms.map((orm) => migrate(orm)));
      const all = [...first.applied, ...second.applied];
      expect(all.sort()).toEqual((await orms[0].getMigrator().getExecutedMigrations()).map((m) => m.name).sort());
      expect(first.applied.length === 0 || second.applied.length === 0).toBe(true);
      expect(first.permissions.created + second.permissions.created).toBe(ALL_PERMISSIONS.length);
      expect(await migrationNeeded(orms[0])).toBe(false);
      expect(await permissionRows(orms[0])).toEqual(expectedRows());
    });
  });
});

describe('Migration20261129204217_unique_mapping_rules', () => {
  let empty: Awaited<ReturnType<typeof createEmptyDatabase>>;
  let orm: MikroORM;
  beforeAll(async () => {
    empty = await createEmptyDatabase();
    orm = await openOrm({ clientUrl: empty.url, poolMax: 2 });
  });
  afterAll(async () => {
    await orm?.close(true);
    await empty?.drop();
  });

  it('merges the rules written twice into the oldest copy, enabled if any copy was, moving their memberships, then indexes', async () => {
    await orm.getMigrator().up({ to: 'Migration20261129191514_login_transaction_client' });
    const sql = (text: string, params: unknown[] = []) => orm.em.fork().execute<Array<Record<string, unknown>>>(text, params);
    const [{ id: groupId }] = await sql(`insert into auth_group (name) values ('g') returning id`);
    const users: number[] = [];
    for (const name of ['a', 'b', 'c']) {
      const [{ id }] = await sql(
        `insert into auth_user (username, email, first_name, last_name, is_active, is_staff, is_superuser, date_joined) values (?, '', '', '', true, false, false, now()) returning id`,
        [name],
      );
      users.push(id as number);
    }
    const rule = async (pattern: string, enabled: boolean, caseSensitive = true) => {
      const [{ id }] = await sql(
        `insert into sso_groupmappingrule (claim, match_type, pattern, case_sensitive, group_id, enabled, description, created_at, updated_at) values (null, 'EXACT', ?, ?, ?, ?, '', now(), now()) returning id`,
        [pattern, caseSensitive, groupId, enabled],
      );
      return id as number;
    };
    const kept = await rule('TEAM', false, false);
    const copy = await rule('team', true, false); // the same rule up to case: merged, and enabled
    const copy2 = await rule('Team', false, false);
    const distinct = await rule('TEAM', false, true); // case-sensitive: another rule
    const member = (user: number, ruleId: number) =>
      sql(`insert into auth_user_groups (user_id, group_id, source, rule_id, created_at) values (?, ?, 'sso_rule', ?, now())`, [
        user,
        groupId,
        ruleId,
      ]);
    await member(users[0], copy); // moves to `kept`
    await member(users[1], kept); // already there: its copies' rows go
    await member(users[1], copy);
    await member(users[2], copy); // two copies: one row moves
    await member(users[2], copy2);

    await migrate(orm);
    const rules = await sql(`select id, pattern, enabled from sso_groupmappingrule order by id`);
    expect(rules).toEqual([
      { id: kept, pattern: 'TEAM', enabled: true },
      { id: distinct, pattern: 'TEAM', enabled: false },
    ]);
    const memberships = await sql(`select user_id, rule_id from auth_user_groups order by user_id, rule_id`);
    expect(memberships).toEqual(users.map((user) => ({ user_id: user, rule_id: kept })));
    await expect(rule('tEAM', true, false)).rejects.toThrow(/sso_groupmappingrule_identity_unique/);
    expect(await migrationNeeded(orm)).toBe(false);
  });
});

describe('syncPermissions', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('leaves a migrated database as it is, every permission present once with its Django name', async () => {
    expect(await syncPermissions(db.orm.em.fork())).toEqual({ created: 0, updated: 0 });
    expect(await syncPermissions(db.orm.em.fork())).toEqual({ created: 0, updated: 0 });
    expect(await permissionRows(db.orm)).toEqual(expectedRows());
  });

  it('restores a permission row that was deleted, and only that one', async () => {
    const em = db.orm.em.fork();
    const { id: before } = (
      await em.execute<Array<{ id: number }>>("select id from auth_permission where app_label = 'core' and codename = 'view_tweet'")
    )[0];
    await em.execute("delete from auth_permission where app_label = 'core' and codename = 'view_tweet'");
    expect(await syncPermissions(db.orm.em.fork())).toEqual({ created: 1, updated: 0 });
    expect(await syncPermissions(db.orm.em.fork())).toEqual({ created: 0, updated: 0 });
    expect(await permissionRows(db.orm)).toEqual(expectedRows());
    const [{ id: after }] = await em.execute<Array<{ id: number }>>(
      "select id from auth_permission where app_label = 'core' and codename = 'view_tweet'",
    );
    expect(after).not.toBe(before);
  });

  it('puts back the name of a permission renamed by hand, keeping its row (and so its grants)', async () => {
    const em = db.orm.em.fork();
    const [{ id }] = await em.execute<Array<{ id: number }>>(
      "update auth_permission set name = 'Can peek at user' where app_label = 'auth' and codename = 'view_user' returning id",
    );
    expect(await syncPermissions(db.orm.em.fork())).toEqual({ created: 0, updated: 1 });
    const [row] = await em.execute<Array<{ id: number; name: string }>>(
      "select id, name from auth_permission where app_label = 'auth' and codename = 'view_user'",
    );
    expect(row).toEqual({ id, name: 'Can view user' });
    expect(await syncPermissions(db.orm.em.fork())).toEqual({ created: 0, updated: 0 });
  });

  it('leaves alone the permissions of a model that is no longer registered', async () => {
    const em = db.orm.em.fork();
    await em.execute(
      "insert into auth_permission (app_label, model, codename, name) values ('legacy', 'widget', 'view_widget', 'Can view widget')",
    );
    expect(await syncPermissions(db.orm.em.fork())).toEqual({ created: 0, updated: 0 });
    const legacy = await em.execute("select name from auth_permission where app_label = 'legacy'");
    expect(legacy).toEqual([{ name: 'Can view widget' }]);
  });

  it('never creates a duplicate, even when run concurrently', async () => {
    await db.orm.em.fork().execute("delete from auth_permission where app_label = 'core' and codename like '%_language'");
    const results = await Promise.all([1, 2, 3].map(() => syncPermissions(db.orm.em.fork())));
    expect(results.reduce((sum, r) => sum + r.created, 0)).toBe(4);
    const [{ duplicates }] = await db.orm.em
      .fork()
      .execute<Array<{ duplicates: string }>>('select count(*) - count(distinct (app_label, codename)) as duplicates from auth_permission');
    expect(Number(duplicates)).toBe(0);
    expect((await permissionRows(db.orm)).filter((r) => r.app_label !== 'legacy')).toEqual(expectedRows());
  });
});
