/**
 * The bench's data, on the local PostgreSQL, in databases of its own. Each dataset is seeded
 * once into a template database whose name carries a digest of what shapes it (the migrations,
 * this file, the directory); a run clones the template (CREATE DATABASE … TEMPLATE, seconds even
 * for 100,000 users) and drops the clone at the end, so every run starts from the same rows and
 * a rerun does not seed again. Templates of older digests are dropped.
 *
 * - `w1`: 10,000 users `w1-user-00000…`; 50 groups of 20 permissions each (a window over the
 *   registry's 28, shifted per group); every user in 3 of them; the last 2,000 users have a
 *   single sign-on identity (`u0`…`u1999`); no mapping rules.
 * - `scale`: 100,000 users named `<first>.<last><k>` (125 first names × 200 last names × 4, so
 *   `olivia.smith` matches exactly 4 of them), joined over five years in shuffled order, 2 %
 *   inactive (none with an identity), each in 3 of 1,004 groups; 1,005 groups with the
 *   reader's; the 5,000 mapping rules of
 *   directory.ts; 10,000 of the users with a single sign-on identity (`u0`…`u9999`), their last
 *   claims and the memberships their three matching rules grant.
 *
 * Both have the reader `zz-bench-reader`, NOT a superuser, holding through the group
 * `zz-bench-readers` exactly the permissions the workloads need.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { claimsFor, groupName, MAPPED_GROUPS, matchedRules, rules, subjectOf } from './directory';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');

export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const READER = { username: 'zz-bench-reader', password: 'bench reader password 0123' };
export const READER_PERMISSIONS = [
  'auth.view_user',
  'auth.view_group',
  'auth.view_permission',
  'core.add_tweet',
  'core.change_tweet',
  'core.delete_tweet',
  'core.view_tweet',
  'sso.view_groupmappingrule',
];
/** Issuer stored in the templates' identities; a run replaces it with its provider's. */
const ISSUER_PLACEHOLDER = 'http://bench-idp.invalid';

export const W1_USERS = 10_000;
export const W1_SSO_PEOPLE = 2_000;
export const SCALE_USERS = 100_000;
export const SCALE_SSO_PEOPLE = 10_000;
export type Dataset = 'w1' | 'scale';

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** What the templates depend on: a change to any of it seeds them again. */
function digest(): string {
  const hash = createHash('sha256');
  const migrations = path.join(ROOT, 'migrations');
  for (const file of readdirSync(migrations).sort()) hash.update(file).update(readFileSync(path.join(migrations, file)));
  for (const file of ['src/permissions/registry.ts', 'bench/support/data.ts', 'bench/support/directory.ts'])
    hash.update(readFileSync(path.join(ROOT, file)));
  return hash.digest('hex').slice(0, 10);
}

const templateName = (dataset: Dataset) => `gatehouse_bench_${dataset}_${digest()}`;

async function gatehouse(url: string, args: string[]): Promise<void> {
  await run(process.execPath, [path.join(ROOT, 'bin', 'gatehouse.js'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: url, NODE_ENV: 'production', LOG_LEVEL: 'warn' },
  });
}

/**
 * The template of `dataset`, seeded first when there is none for the current digest; `say`
 * reports progress. Returns its name.
 */
export async function ensureTemplate(dataset: Dataset, say: (line: string) => void): Promise<string> {
  const name = templateName(dataset);
  return withClient(ADMIN_URL, async (admin) => {
    await admin.query('select pg_advisory_lock(hashtext($1))', [`gatehouse:bench-template:${dataset}`]);
    try {
      // Templates of other sources are dropped a day after they were seeded: checkouts of other
      // branches on this machine may be benchmarking with them now.
      const stale = await admin.query<{ datname: string }>(
        `select datname from pg_database d where datname like $1 and datname <> $2
            and coalesce(substring(shobj_description(d.oid, 'pg_database') from '^built ([0-9]+)$')::bigint, 0) < $3`,
        [`gatehouse_bench_${dataset}_%`, name, Date.now() - 24 * 3600 * 1000],
      );
      for (const { datname } of stale.rows) await admin.query(`drop database if exists "${datname}" with (force)`);
      if ((await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount) return name;
      const building = `${name}_building`;
      await admin.query(`drop database if exists "${building}" with (force)`);
      await admin.query(`create database "${building}"`);
      const started = performance.now();
      say(`seeding ${dataset} into ${name} (once; later runs reuse it)…`);
      const url = databaseUrl(building);
      await gatehouse(url, ['migrate']);
      await gatehouse(url, [
        'createsuperuser',
        '--no-input',
        '--username',
        READER.username,
        '--email',
        'reader@bench.example',
        '--password',
        READER.password,
      ]);
      await withClient(url, async (db) => {
        await db.query('begin');
        await seedReader(db);
        if (dataset === 'w1') await seedW1(db);
        else await seedScale(db);
        await db.query('commit');
        await db.query('vacuum analyze');
      });
      await admin.query(`alter database "${building}" rename to "${name}"`);
      await admin.query(`comment on database "${name}" is 'built ${Date.now()}'`);
      say(`seeded ${dataset} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      return name;
    } finally {
      await admin.query('select pg_advisory_unlock(hashtext($1))', [`gatehouse:bench-template:${dataset}`]);
    }
  });
}

/** A copy of the template for one run, its identities' issuer set to the run's provider. */
export async function cloneForRun(
  template: string,
  tag: string,
  issuer: string | null,
): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `gatehouse_bench_run_${Date.now()}_${tag}`;
  await withClient(ADMIN_URL, (admin) => admin.query(`create database "${name}" template "${template}"`));
  const url = databaseUrl(name);
  if (issuer)
    await withClient(url, (db) => db.query('update sso_identity set issuer = $1 where issuer = $2', [issuer, ISSUER_PLACEHOLDER]));
  return {
    name,
    url,
    drop: () => withClient(ADMIN_URL, (admin) => admin.query(`drop database if exists "${name}" with (force)`)).then(() => undefined),
  };
}

/** Drops the run databases a crashed run left behind (older than an hour). */
export async function dropAbandonedRuns(): Promise<void> {
  await withClient(ADMIN_URL, async (admin) => {
    const { rows } = await admin.query<{ datname: string }>(
      "select datname from pg_database where datname like 'gatehouse_bench_run_%' and datname < $1",
      [`gatehouse_bench_run_${Date.now() - 3600 * 1000}`],
    );
    for (const { datname } of rows) await admin.query(`drop database if exists "${datname}" with (force)`);
  });
}

async function seedReader(db: Client): Promise<void> {
  await db.query('update auth_user set is_superuser = false, is_staff = true where username = $1', [READER.username]);
  await db.query("insert into auth_group (name) values ('zz-bench-readers')");
  await db.query(
    `insert into auth_group_permissions (group_id, permission_id)
       select g.id, p.id from auth_group g, auth_permission p
        where g.name = 'zz-bench-readers' and p.app_label || '.' || p.codename = any($1::text[])`,
    [READER_PERMISSIONS],
  );
  await db.query(
    `insert into auth_user_groups (user_id, group_id, source, created_at)
       select u.id, g.id, 'admin', now() from auth_user u, auth_group g where u.username = $1 and g.name = 'zz-bench-readers'`,
    [READER.username],
  );
}

async function seedW1(db: Client): Promise<void> {
  await db.query("insert into auth_group (name) select format('w1-group-%s', lpad(g::text, 2, '0')) from generate_series(0, 49) g");
  await db.query(
    `insert into auth_group_permissions (group_id, permission_id)
       select g.id, p.id
         from (select id, row_number() over (order by name) - 1 as n from auth_group where name like 'w1-group-%') g
         join (select id, row_number() over (order by id) - 1 as n from auth_permission) p on p.n between g.n % 9 and g.n % 9 + 19`,
  );
  await db.query(
    `insert into auth_user (username, email, first_name, last_name, is_active, is_staff, is_superuser, date_joined)
       select format('w1-user-%s', lpad(i::text, 5, '0')), format('w1-user-%s@bench.example', i), 'Bench', format('User %s', i),
              true, false, false, timestamptz '2024-01-01' + i * interval '1 minute'
         from generate_series(0, $1 - 1) i`,
    [W1_USERS],
  );
  await db.query(
    `insert into auth_user_groups (user_id, group_id, source, created_at)
       select u.id, g.id, 'admin', now()
         from (select id, row_number() over (order by username) - 1 as n from auth_user where username like 'w1-user-%') u
         join (select id, row_number() over (order by name) - 1 as n from auth_group where name like 'w1-group-%') g
           on g.n in ((u.n * 3) % 50, (u.n * 3 + 1) % 50, (u.n * 3 + 2) % 50)`,
  );
  // The last W1_SSO_PEOPLE users signed in once through single sign-on (no rules: no rule memberships).
  const people = Array.from({ length: W1_SSO_PEOPLE }, (_, n) => n);
  await db.query(
    `insert into sso_identity (user_id, issuer, subject, last_claims, created_at, last_login_at)
       select u.id, $1, c.claims->>'sub', c.claims, now(), now()
         from jsonb_array_elements($2::jsonb) with ordinality as c(claims, k)
         join auth_user u on u.username = format('w1-user-%s', lpad(($3 + c.k - 1)::text, 5, '0'))`,
    [ISSUER_PLACEHOLDER, JSON.stringify(people.map(claimsFor)), W1_USERS - W1_SSO_PEOPLE],
  );
}

// Names from consonant–vowel syllables without l, v, s: none contains "olivia" or "smith" but the two put first.
function names(count: number, first: string): string[] {
  const consonants = 'bdgkmnprt';
  const vowels = 'aeiou';
  const out = new Set([first]);
  const syllable = (k: number) => consonants[k % consonants.length] + vowels[Math.floor(k / consonants.length) % vowels.length];
  // Three syllables from the base-45 digits of i (scrambled), so the first 45³ names are distinct.
  for (let i = 0; out.size < count; i++) out.add(syllable((i * 7) % 45) + syllable(Math.floor(i / 45) % 45) + syllable((i + 11) % 45));
  return [...out];
}

async function seedScale(db: Client): Promise<void> {
  const firstNames = names(125, 'olivia');
  const lastNames = names(200, 'smith');
  if (firstNames.length !== 125 || lastNames.length !== 200) throw new Error('the generated name lists are too short');
  await db.query('insert into auth_group (name) select unnest($1::text[])', [
    Array.from({ length: MAPPED_GROUPS }, (_, i) => groupName(i)),
  ]);
  // User i: first name i % 125, last name (i / 125) % 200, suffix i / 25,000 (none for the first 25,000).
  await db.query(
    `insert into auth_user (username, email, first_name, last_name, is_active, is_staff, is_superuser, date_joined)
       select n.username, n.username || '@example.com', initcap(n.first), initcap(n.last), i % 50 <> 25, false, false,
              timestamptz '2020-01-01' + ((i * 1571) % $3) * interval '26 minutes'
         from generate_series(0, $3 - 1) i,
              lateral (select $1::text[] as firsts, $2::text[] as lasts) l,
              lateral (select l.firsts[i % 125 + 1] as first, l.lasts[(i / 125) % 200 + 1] as last) f,
              lateral (select f.first, f.last, f.first || '.' || f.last || case when i / 25000 > 0 then (i / 25000)::text else '' end as username) n`,
    [firstNames, lastNames, SCALE_USERS],
  );
  const { rows } = await db.query<{ count: string }>("select count(*) from auth_user where username ilike '%olivia.smith%'");
  if (Number(rows[0].count) !== 4) throw new Error(`expected 4 users matching olivia.smith, seeded ${rows[0].count}`);
  await db.query(
    `insert into auth_user_groups (user_id, group_id, source, created_at)
       select u.id, g.id, 'admin', now()
         from (select id, row_number() over (order by id) - 1 as n from auth_user where username <> $1) u
         join (select id, row_number() over (order by name) - 1 as n from auth_group where name like 'dept-%') g
           on g.n in (u.n % $2, (u.n + 335) % $2, (u.n + 670) % $2)`,
    [READER.username, MAPPED_GROUPS],
  );
  const all = rules();
  await db.query(
    `insert into sso_groupmappingrule (claim, match_type, pattern, case_sensitive, group_id, enabled, description, created_at, updated_at)
       select null, r.match_type, r.pattern, true, g.id, true, '', now(), now()
         from unnest($1::text[], $2::text[], $3::text[]) with ordinality as r(match_type, pattern, group_name, k)
         join auth_group g on g.name = r.group_name
        order by r.k`,
    [all.map((r) => r.matchType), all.map((r) => r.pattern), all.map((r) => groupName(r.group))],
  );
  // Every 10th user signed in through single sign-on as u<n>, with the memberships its rules grant.
  const people = Array.from({ length: SCALE_SSO_PEOPLE }, (_, n) => n);
  await db.query(
    `insert into sso_identity (user_id, issuer, subject, last_claims, created_at, last_login_at)
       select u.id, $1, c.claims->>'sub', c.claims, now(), now()
         from jsonb_array_elements($2::jsonb) with ordinality as c(claims, k)
         join (select id, row_number() over (order by id) - 1 as n from auth_user where username <> $3) u on u.n = (c.k - 1) * 10`,
    [ISSUER_PLACEHOLDER, JSON.stringify(people.map(claimsFor)), READER.username],
  );
  await db.query(
    `insert into auth_user_groups (user_id, group_id, source, rule_id, created_at)
       select distinct on (i.user_id, r.group_id, r.id) i.user_id, r.group_id, 'sso_rule', r.id, now()
         from unnest($1::text[], $2::int[]) as m(subject, position)
         join sso_identity i on i.subject = m.subject
         join (select id, group_id, row_number() over (order by id) - 1 as position from sso_groupmappingrule) r on r.position = m.position`,
    [people.flatMap((n) => matchedRules(n).map(() => subjectOf(n))), people.flatMap((n) => matchedRules(n))],
  );
}
