import type { EntityManager } from '@mikro-orm/postgresql';
import { compactUserTally, listUsers, UserOrder } from '../../src/users/users.queries';
import { createTestDatabase, type TestDatabase } from '../support/database';

/*
 * The user list at scale: the statements `users` runs use the indexes the scale migration adds,
 * shown by PostgreSQL's own EXPLAIN of the very statements Gatehouse sent (captured from the
 * ORM's query log), on a table of 50,000 users after ANALYZE — enough rows that the planner
 * chooses the indexes by itself, with no enable_seqscan=off. And `totalCount` without a search
 * is the tally's sum, exact through inserts, flag changes, deletes, rollbacks and compaction.
 */

const USERS = 50_000;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  const em = db.orm.em.fork();
  // Names as the bench has them (125 first names × 200 last names, a suffix past each 25,000):
  // `olivia.smith` is 2 users, `zzqx` nobody.
  await em.execute(
    `insert into auth_user (username, email, first_name, last_name, is_active, is_staff, is_superuser, date_joined)
       select n.username, n.username || '@example.com', initcap(f.first), initcap(f.last), i % 50 <> 25, i % 7 = 0, false,
              timestamptz '2020-01-01' + ((i * 1571) % ${USERS}) * interval '26 minutes'
         from generate_series(0, ${USERS - 1}) i,
              lateral (select case when i % 125 = 0 then 'olivia' else translate(substr(md5('f' || i % 125), 1, 7), '0123456789', 'bdgkmnprtu') end as first,
                              case when i / 125 % 200 = 0 then 'smith' else translate(substr(md5('l' || i / 125 % 200), 1, 8), '0123456789', 'bdgkmnprtu') end as last) f,
              lateral (select f.first || '.' || f.last || case when i >= 25000 then (i / 25000)::text else '' end as username) n`,
  );
  // As autovacuum would have: the GIN indexes' pending lists merged, the statistics current.
  await em.execute('vacuum analyze auth_user');
}, 120_000);

afterAll(async () => {
  await db?.drop();
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Scan Direction'?: string;
  Plans?: PlanNode[];
}

/** Every node of the plan PostgreSQL chooses for `sql` with `params`. */
async function planOf(sql: string, params: unknown[]): Promise<PlanNode[]> {
  const [row] = await db.orm.em.fork().execute<Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>>(`explain (format json) ${sql}`, params);
  const nodes: PlanNode[] = [];
  const walk = (node: PlanNode) => {
    nodes.push(node);
    node.Plans?.forEach(walk);
  };
  walk(row['QUERY PLAN'][0].Plan);
  return nodes;
}

/**
 * The statements `run` sends through the EntityManager it is given, each with the plan
 * PostgreSQL chooses for it with the same parameters.
 */
async function statementsOf(run: (em: EntityManager) => Promise<unknown>): Promise<Array<{ sql: string; plan: PlanNode[] }>> {
  const real = db.orm.em.fork();
  const sent: Array<{ sql: string; params: unknown[] }> = [];
  const recording = new Proxy(real, {
    get(target, property, receiver) {
      if (property === 'execute')
        return (sql: string, params: unknown[] = []) => {
          sent.push({ sql, params });
          return target.execute(sql, params);
        };
      return Reflect.get(target, property, receiver);
    },
  });
  await run(recording);
  return Promise.all(sent.map(async ({ sql, params }) => ({ sql, plan: await planOf(sql, params) })));
}

const seqScansOfUsers = (plan: PlanNode[]) => plan.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'auth_user');
const indexesUsed = (plan: PlanNode[]) => [...new Set(plan.map((n) => n['Index Name']).filter(Boolean))].sort();

const TRIGRAM_INDEXES = [
  'auth_user_email_trgm_index',
  'auth_user_first_name_trgm_index',
  'auth_user_last_name_trgm_index',
  'auth_user_username_trgm_index',
];

describe('users(filter: { search })', () => {
  it.each([
    ['a rare term', 'olivia.smith', 2],
    ['a term matching nobody', 'zzqx', 0],
  ])('finds %s through the four trigram indexes, never scanning auth_user, and counts it the same way', async (_what, term, matches) => {
    let total = -1;
    const statements = await statementsOf(async (em) => {
      const page = await listUsers(em, { filter: { search: term }, order: UserOrder.USERNAME_ASC, limit: 20 });
      total = await page.totalCount();
    });
    expect(statements).toHaveLength(2);
    for (const { sql, plan } of statements) {
      expect(sql).toMatch(/from auth_user u/);
      expect(seqScansOfUsers(plan)).toEqual([]);
      expect(plan.some((n) => n['Node Type'] === 'BitmapOr')).toBe(true);
      expect(indexesUsed(plan)).toEqual(TRIGRAM_INDEXES);
    }
    const [{ count }] = await db.orm.em
      .fork()
      .execute<Array<{ count: string }>>(
        `select count(*) from auth_user where username ilike ? or email ilike ? or first_name ilike ? or last_name ilike ?`,
        Array(4).fill(`%${term}%`),
      );
    expect(total).toBe(Number(count));
    expect(total).toBe(matches);
  });
});

describe('users, page 2,000 in each offered order', () => {
  it.each([
    [UserOrder.DATE_JOINED_DESC, 'auth_user_date_joined_id_index', 'Backward'],
    [UserOrder.DATE_JOINED_ASC, 'auth_user_date_joined_id_index', 'Forward'],
    [UserOrder.USERNAME_ASC, 'auth_user_username_unique', 'Forward'],
    [UserOrder.USERNAME_DESC, 'auth_user_username_unique', 'Backward'],
  ])('reads %s from %s (%s) after the cursor, without sorting', async (order, index, direction) => {
    // Walk to the cursor of the 1,999th page's last user with big pages, then read the next one.
    let after: string | null = null;
    for (let read = 0; read < 1999 * 20; read += 500) {
      const page = await listUsers(db.orm.em.fork(), { filter: {}, order, limit: 500, after });
      after = page.pageInfo.endCursor;
    }
    const statements = await statementsOf((em) => listUsers(em, { filter: {}, order, limit: 20, after }));
    expect(statements).toHaveLength(1);
    const [{ plan }] = statements;
    expect(seqScansOfUsers(plan)).toEqual([]);
    expect(plan.some((n) => n['Node Type'] === 'Sort')).toBe(false);
    const scan = plan.find((n) => n['Index Name'] === index);
    expect(scan).toMatchObject({ 'Node Type': 'Index Scan', 'Scan Direction': direction });
  });
});

describe('users { totalCount } without a search', () => {
  const counted = async (filter: { isActive?: boolean; isStaff?: boolean; isSuperuser?: boolean }) => {
    let total = -1;
    const statements = await statementsOf(async (em) => {
      total = await (await listUsers(em, { filter, order: UserOrder.USERNAME_ASC, limit: 1 })).totalCount();
    });
    return { total, countStatement: statements[1] };
  };
  const actual = async (where: string) =>
    Number((await db.orm.em.fork().execute<Array<{ count: string }>>(`select count(*) from auth_user where ${where}`))[0].count);

  const FILTERS = [
    [{}, 'true'],
    [{ isActive: true }, 'is_active'],
    [{ isActive: false }, 'not is_active'],
    [{ isStaff: true, isActive: true }, 'is_staff and is_active'],
    [{ isSuperuser: true }, 'is_superuser'],
  ] as const;

  it('sums the tally instead of reading auth_user', async () => {
    const { total, countStatement } = await counted({});
    expect(countStatement.sql).toMatch(/from auth_user_tally/);
    expect(countStatement.plan.some((n) => n['Relation Name'] === 'auth_user')).toBe(false);
    expect(total).toBe(await actual('true'));
  });

  it('stays exact through inserts, flag changes, deletes, a rolled-back transaction, compaction and truncation', async () => {
    const check = async () => {
      for (const [filter, where] of FILTERS) expect([where, (await counted(filter)).total]).toEqual([where, await actual(where)]);
    };
    await check();
    const em = db.orm.em.fork();
    await em.execute(
      `insert into auth_user (username, email, first_name, last_name, is_active, is_staff, is_superuser, date_joined)
         select 'tally-' || i, '', '', '', i % 2 = 0, false, i % 3 = 0, now() from generate_series(1, 30) i`,
    );
    await em.execute(`update auth_user set is_active = not is_active, is_staff = true where username like 'tally-1%'`);
    await em.execute(`update auth_user set last_login = now(), first_name = 'x' where username like 'tally-%'`);
    await em.execute(`delete from auth_user where username in ('tally-2', 'tally-3', 'tally-21')`);
    await check();
    await expect(
      em.transactional(async (tx) => {
        await tx.execute(`insert into auth_user (username, email, first_name, last_name, is_active, is_staff, is_superuser, date_joined)
                            values ('tally-rolled-back', '', '', '', true, true, true, now())`);
        await tx.execute(`update auth_user set is_superuser = true where username like 'tally-%'`);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await check();
    expect(await compactUserTally(em, 0)).toBeGreaterThan(0);
    const [{ rows }] = await em.execute<Array<{ rows: string }>>('select count(*) as rows from auth_user_tally');
    expect(Number(rows)).toBeLessThanOrEqual(8); // one per (is_active, is_staff, is_superuser)
    await check();
    expect(await compactUserTally(em)).toBe(0); // below the threshold: nothing to do
    await em.execute('truncate auth_user cascade');
    await check();
    expect((await counted({})).total).toBe(0);
  });
});
