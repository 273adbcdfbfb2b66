import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gatehouse, ROOT } from '../cli/run-gatehouse';

// The scale migration on the embedded database: PGlite has pg_trgm only when Gatehouse loads it
// (src/db/embedded.ts), and the migration creates the extension, the trigram and order indexes,
// the user tally and the rule-set version with their triggers. Read back by PGlite itself in a
// plain node process (PGlite's dynamic imports do not run under jest's transform).
jest.setTimeout(180_000);

const run = promisify(execFile);

/** Runs `sql` statements on the PGlite database in `dataDir` (with pg_trgm), returning each one's rows. */
async function onPglite(dataDir: string, statements: string[]): Promise<Array<Array<Record<string, unknown>>>> {
  const script = `
    const { PGlite } = await import('@electric-sql/pglite');
    const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
    const db = await PGlite.create({ dataDir: process.argv[1], extensions: { pg_trgm } });
    const out = [];
    for (const sql of JSON.parse(process.argv[2])) out.push((await db.query(sql)).rows);
    await db.close();
    process.stdout.write(JSON.stringify(out));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, dataDir, JSON.stringify(statements)], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as Array<Array<Record<string, unknown>>>;
}

describe('the scale migration on the embedded database', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-embedded-scale-'));
  });
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('applies, and search reads the trigram indexes, counts read the tally, rule changes move the version', async () => {
    const migrated = await gatehouse(['migrate'], { DATA_DIR: dataDir });
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    const results = await onPglite(path.join(dataDir, 'pglite'), [
      `insert into auth_user (username, email, first_name, last_name, is_active, is_staff, is_superuser, date_joined)
         select 'user' || i, 'user' || i || '@example.com', 'First', 'Last', i % 3 <> 0, false, false, now() from generate_series(1, 300) i`,
      // A table this small is read faster sequentially, so the planner is told not to, to show the index is usable.
      `set enable_seqscan = off`,
      `explain (format json) select id from auth_user u where (u.username ilike '%ser12%' or u.email ilike '%ser12%' or u.first_name ilike '%ser12%' or u.last_name ilike '%ser12%')`,
      `select is_active, sum(delta)::int as n from auth_user_tally group by is_active order by is_active`,
      `select version from sso_rule_set_version`,
      `insert into auth_group (name) values ('renamed-soon')`,
      `update auth_group set name = 'renamed' where name = 'renamed-soon'`,
    ]);
    const [plan, tally, [before]] = [results[2], results[3], results[4]];
    expect(JSON.stringify(plan)).toMatch(/auth_user_username_trgm_index/);
    expect(JSON.stringify(plan)).toMatch(/auth_user_last_name_trgm_index/);
    expect(JSON.stringify(plan)).not.toMatch(/Seq Scan/);
    expect(tally).toEqual([
      { is_active: false, n: 100 },
      { is_active: true, n: 200 },
    ]);
    const [[{ version: now }]] = await onPglite(path.join(dataDir, 'pglite'), ['select version from sso_rule_set_version']);
    expect(now).not.toEqual(before.version); // the group's rename is a new version of the rules
  });
});
