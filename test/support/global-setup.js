// Prepares a migrated template database on the local PostgreSQL once per run; every test
// file then clones it (CREATE DATABASE … TEMPLATE), so files run in parallel, isolated.
// The template's name carries a digest of the migrations, so a changed migration rebuilds it.
'use strict';
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Client } = require('pg');

const ROOT = path.resolve(__dirname, '..', '..');
const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

function migrationsDigest() {
  const hash = crypto.createHash('sha256');
  const dir = path.join(ROOT, 'migrations');
  for (const file of fs.readdirSync(dir).sort()) hash.update(file).update(fs.readFileSync(path.join(dir, file)));
  for (const file of ['src/permissions/registry.ts']) hash.update(fs.readFileSync(path.join(ROOT, file)));
  return hash.digest('hex').slice(0, 12);
}

module.exports = async function globalSetup() {
  // The command-line tests run the compiled build (bin/gatehouse.js): build it once here rather
  // than in every test file's first child process.
  await require('../../bin/build').ensureBuilt();
  const template = `gatehouse_template_${migrationsDigest()}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(`the tests need PostgreSQL at ${ADMIN_URL} (${error.message}); start it with pg_ctlcluster`);
  }
  try {
    await admin.query('select pg_advisory_lock(hashtext($1))', ['gatehouse:test-template']);
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [template]);
    if (!rowCount) {
      await admin.query(`create database "${template}_building"`).catch(async () => {
        await admin.query(`drop database "${template}_building"`);
        await admin.query(`create database "${template}_building"`);
      });
      const url = new URL(ADMIN_URL);
      url.pathname = `/${template}_building`;
      execFileSync(process.execPath, [path.join(ROOT, 'bin', 'gatehouse.js'), 'migrate'], {
        env: { ...process.env, DATABASE_URL: url.toString(), NODE_ENV: 'test', LOG_LEVEL: 'warn' },
        stdio: 'pipe',
      });
      await admin.query(`alter database "${template}_building" rename to "${template}"`);
      await admin.query(`comment on database "${template}" is 'built ${Date.now()}'`);
    }
    // Templates of other migrations are dropped a day after they were built (checkouts of other
    // branches on this machine may be testing with them now), as are databases of crashed runs.
    const dayAgo = Date.now() - 24 * 3600 * 1000;
    const stale = await admin.query(
      `select d.datname from pg_database d
        where (d.datname like 'gatehouse_template_%' and d.datname <> $1
               and coalesce(substring(shobj_description(d.oid, 'pg_database') from '^built ([0-9]+)$')::bigint, 0) < $3)
           or (d.datname like 'gatehouse_t_%' and d.datname < $2)`,
      [template, `gatehouse_t_${Date.now() - 6 * 3600 * 1000}`, dayAgo],
    );
    for (const { datname } of stale.rows) await admin.query(`drop database if exists "${datname}" with (force)`);
  } finally {
    await admin.query('select pg_advisory_unlock(hashtext($1))', ['gatehouse:test-template']).catch(() => undefined);
    await admin.end();
  }
  process.env.GATEHOUSE_TEST_TEMPLATE = template;
  process.env.TEST_DATABASE_ADMIN_URL = ADMIN_URL;
};
