import { createTestDatabase, type TestDatabase } from '../support/database';
import { gatehouse, query } from './run-gatehouse';

const CORE_ALL = [
  'core.add_language',
  'core.add_tweet',
  'core.change_language',
  'core.change_tweet',
  'core.delete_language',
  'core.delete_tweet',
  'core.view_language',
  'core.view_tweet',
];

// The original project's reference groups, spelled out rather than derived, so that a change
// to the derivation cannot silently change the seed.
const REFERENCE = {
  business: ['core.change_language', 'core.change_tweet', 'core.view_language', 'core.view_tweet'],
  developer: [...CORE_ALL, 'admin.view_logentry', 'auth.view_group', 'auth.view_permission', 'auth.view_user'].sort(),
  support: CORE_ALL,
  viewer: ['core.view_language', 'core.view_tweet'],
};

async function groupPermissions(url: string): Promise<Record<string, string[]>> {
  const rows = await query<{ name: string; perms: string[] }>(
    url,
    `select g.name, coalesce(array_agg(p.app_label || '.' || p.codename order by p.app_label || '.' || p.codename) filter (where p.id is not null), '{}') as perms
       from auth_group g left join auth_group_permissions gp on gp.group_id = g.id left join auth_permission p on p.id = gp.permission_id
      group by g.name order by g.name`,
  );
  return Object.fromEntries(rows.map((row) => [row.name, row.perms]));
}

describe('gatehouse seed', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  const seed = () => gatehouse(['seed'], { DATABASE_URL: db.url });

  it('creates viewer (2), business (4), support (8) and developer (12) with exactly the reference permissions', async () => {
    const result = await seed();
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n')[0]).toBe('created groups: viewer, business, support, developer');
    const groups = await groupPermissions(db.url);
    expect(groups).toEqual(REFERENCE);
    expect(Object.fromEntries(Object.entries(groups).map(([name, perms]) => [name, perms.length]))).toEqual({
      viewer: 2,
      business: 4,
      support: 8,
      developer: 12,
    });
  });

  it('a second run says nothing changed and changes nothing', async () => {
    const before = await query(
      db.url,
      'select g.id, g.name, gp.permission_id from auth_group g join auth_group_permissions gp on gp.group_id = g.id order by 1, 3',
    );
    const result = await seed();
    expect(result).toEqual({ code: 0, stdout: 'nothing to do: the reference groups are already seeded\n', stderr: '' });
    expect(
      await query(
        db.url,
        'select g.id, g.name, gp.permission_id from auth_group g join auth_group_permissions gp on gp.group_id = g.id order by 1, 3',
      ),
    ).toEqual(before);
  });

  it('keeps a permission an admin added to a reference group, and puts back one an admin removed', async () => {
    await query(
      db.url,
      `insert into auth_group_permissions (group_id, permission_id)
       select g.id, p.id from auth_group g, auth_permission p where g.name = 'viewer' and p.app_label = 'auth' and p.codename = 'view_user'`,
    );
    await query(
      db.url,
      `delete from auth_group_permissions where group_id = (select id from auth_group where name = 'business')
         and permission_id = (select id from auth_permission where app_label = 'core' and codename = 'change_tweet')`,
    );
    const result = await seed();
    expect(result).toEqual({ code: 0, stdout: 'group business: added core.change_tweet\n', stderr: '' });
    const groups = await groupPermissions(db.url);
    expect(groups.viewer).toEqual(['auth.view_user', 'core.view_language', 'core.view_tweet']);
    expect(groups.business).toEqual(REFERENCE.business);
    expect((await seed()).stdout).toBe('nothing to do: the reference groups are already seeded\n');
  });

  it('leaves other groups alone', async () => {
    await query(db.url, "insert into auth_group (name) values ('auditors')");
    expect((await seed()).code).toBe(0);
    expect((await groupPermissions(db.url)).auditors).toEqual([]);
    expect(Object.keys(await groupPermissions(db.url))).toEqual(['auditors', 'business', 'developer', 'support', 'viewer']);
  });
});
