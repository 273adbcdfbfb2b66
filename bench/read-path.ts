/**
 * `npm run bench:enforcement`: the cost of enforcement on the headline read path.
 *
 *   query { users(first: 50) { edges { node { username groups { name permissions { codename } } } } } }
 *
 * 1. Creates a fresh PostgreSQL database and migrates it with `node bin/gatehouse.js migrate`.
 * 2. Seeds 50 users, each in 3 groups of their own (150 groups), each group holding 20
 *    permissions — a window over the registry's 28, shifted per group, so no extra
 *    auth_permission rows are needed — and a NON-superuser reader who holds auth.view_user,
 *    auth.view_group and auth.view_permission through a group (and is not on the page).
 * 3. Starts two Gatehouse servers in this process on that database: enforcement on (the
 *    default) and off (`enforce: false`); signs the reader in through the `login` mutation.
 * 4. Drives each with autocannon (10 connections, in a child process so the load generator
 *    does not share the servers' event loop): a warm-up, then ROUNDS rounds alternating which
 *    server goes first; prints req/s, p50 and p99 per round and their medians, and the ratio
 *    enforced / unenforced.
 * 5. Drops its database, whatever happened.
 *
 * Environment: BENCH_DURATION (s per run, default 10), BENCH_ROUNDS (3), BENCH_WARMUP (3),
 * BENCH_CONNECTIONS (10), TEST_DATABASE_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres).
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { startGatehouse, type Gatehouse } from '../src/app';
import { loadConfig } from '../src/config/env';
import { createLogger } from '../src/config/logger';
import { openOrm } from '../src/db/orm';
import { Group } from '../src/groups/group.entity';
import { Permission } from '../src/permissions/permission.entity';
import { hashPassword } from '../src/users/passwords';
import { MembershipSource, UserGroup } from '../src/users/user-group.entity';
import { User } from '../src/users/user.entity';
import { admin, ADMIN_URL } from '../test/support/database';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);

const QUERY = '{ users(first: 50) { edges { node { username groups { name permissions { codename } } } } } }';
const READER = { username: 'zz-bench-reader', password: 'bench reader password' };

export async function seed(url: string): Promise<void> {
  const orm = await openOrm({ clientUrl: url, poolMax: 2 });
  try {
    const em = orm.em.fork();
    const permissions = await em.find(Permission, {}, { orderBy: { id: 'asc' } });
    const named = (...names: string[]) => names.map((name) => permissions.find((p) => p.fullName === name)!);
    const readers = em.create(Group, { name: 'zz-bench-readers' });
    readers.permissions.set(named('auth.view_user', 'auth.view_group', 'auth.view_permission'));
    const reader = em.create(User, { username: READER.username, password: await hashPassword(READER.password) });
    em.create(UserGroup, { user: reader, group: readers, source: MembershipSource.ADMIN });
    for (let u = 0; u < 50; u++) {
      const user = em.create(User, {
        username: `bench-user-${String(u).padStart(2, '0')}`,
        email: `user${u}@example.com`,
        firstName: 'Bench',
        lastName: `User ${u}`,
      });
      for (let g = 0; g < 3; g++) {
        const index = u * 3 + g;
        const group = em.create(Group, { name: `bench-group-${String(index).padStart(3, '0')}` });
        const start = index % (permissions.length - 20 + 1);
        group.permissions.set(permissions.slice(start, start + 20));
        em.create(UserGroup, { user, group, source: MembershipSource.ADMIN });
      }
    }
    await em.flush();
  } finally {
    await orm.close(true);
  }
}

interface LoadResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  errors: number;
  non2xx: number;
  timeouts: number;
}

async function load(url: string, token: string, seconds: number): Promise<LoadResult> {
  const options = {
    url: `${url}/graphql`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: QUERY }),
  };
  const { stdout } = await run(process.execPath, [path.join(__dirname, 'load.js'), JSON.stringify(options)], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const result = JSON.parse(stdout) as LoadResult;
  if (result.errors || result.non2xx || result.timeouts)
    throw new Error(`load generator saw ${result.errors} errors, ${result.non2xx} non-2xx, ${result.timeouts} timeouts`);
  return result;
}

async function check(url: string, token: string): Promise<void> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: QUERY }),
  });
  const body = (await response.json()) as {
    data?: { users: { edges: Array<{ node: { groups: Array<{ permissions: unknown[] }> } }> } };
    errors?: unknown;
  };
  const edges = body.data?.users.edges ?? [];
  const shape =
    edges.length === 50 && edges.every((e) => e.node.groups.length === 3 && e.node.groups.every((g) => g.permissions.length === 20));
  if (body.errors || !shape) throw new Error(`unexpected answer from ${url}: ${JSON.stringify(body).slice(0, 500)}`);
}

async function signIn(url: string): Promise<string> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }',
      variables: { u: READER.username, p: READER.password },
    }),
  });
  const body = (await response.json()) as { data?: { login: { token: string } }; errors?: unknown };
  if (!body.data) throw new Error(`sign-in failed: ${JSON.stringify(body.errors)}`);
  return body.data.login.token;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fixed = (value: number, digits = 1) => value.toFixed(digits).padStart(8);

export async function main(): Promise<number> {
  const name = `gatehouse_bench_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const servers: Gatehouse[] = [];
  await admin((client) => client.query(`create database "${name}"`));
  try {
    console.log(`database ${name}: migrating and seeding 50 users × 3 groups × 20 permissions…`);
    await run(process.execPath, [path.join(ROOT, 'bin', 'gatehouse.js'), 'migrate'], {
      env: { ...process.env, DATABASE_URL: url.toString(), NODE_ENV: 'production', LOG_LEVEL: 'warn' },
    });
    await seed(url.toString());

    const config = loadConfig({
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: url.toString(),
      LOG_LEVEL: 'silent',
      PUBLIC_URL: 'http://127.0.0.1',
    });
    const logger = createLogger(config.LOG_LEVEL);
    const enforced = await startGatehouse(config, logger);
    servers.push(enforced);
    const unenforced = await startGatehouse(config, logger, { enforce: false });
    servers.push(unenforced);
    const targets = [
      { label: 'enforced', url: enforced.http.url },
      { label: 'unenforced', url: unenforced.http.url },
    ];
    const token = await signIn(enforced.http.url);
    for (const target of targets) await check(target.url, token);

    console.log(`warm-up: ${WARMUP} s each; then ${ROUNDS} rounds × ${DURATION} s per server, ${CONNECTIONS} connections`);
    for (const target of targets) await load(target.url, token, WARMUP);

    const results: Record<string, LoadResult[]> = { enforced: [], unenforced: [] };
    console.log(`\n${'round'.padEnd(7)}${'server'.padEnd(12)}${'req/s'.padStart(8)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}`);
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 ? targets : [...targets].reverse();
      for (const target of order) {
        const result = await load(target.url, token, DURATION);
        results[target.label].push(result);
        console.log(
          `${String(round).padEnd(7)}${target.label.padEnd(12)}${fixed(result.requests.average)}${fixed(result.latency.p50)}${fixed(result.latency.p99)}`,
        );
      }
    }
    const summary = Object.fromEntries(
      Object.entries(results).map(([label, runs]) => [
        label,
        {
          rps: median(runs.map((r) => r.requests.average)),
          p50: median(runs.map((r) => r.latency.p50)),
          p99: median(runs.map((r) => r.latency.p99)),
        },
      ]),
    );
    const ratio = summary.enforced.rps / summary.unenforced.rps;
    console.log('\nmedians over the rounds');
    for (const [label, s] of Object.entries(summary))
      console.log(`  ${label.padEnd(11)} ${fixed(s.rps)} req/s   p50 ${fixed(s.p50)} ms   p99 ${fixed(s.p99)} ms`);
    console.log(
      `  ratio enforced/unenforced: ${ratio.toFixed(3)} (enforcement costs ${((1 - ratio) * 100).toFixed(1)} % of throughput; target ≤ 5 %)`,
    );
    return 0;
  } finally {
    for (const server of servers) await server.stop().catch((error: unknown) => console.error('stopping a server:', error));
    await admin((client) => client.query(`drop database if exists "${name}" with (force)`));
    console.log(`dropped ${name}`);
  }
}
