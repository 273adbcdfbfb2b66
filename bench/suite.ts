/**
 * `npm run bench [-- <workload|group>… ] [--quick] [--profile]`: Gatehouse against its peers, in
 * one interleaved run on this machine. See bench/README.md for what each row means.
 *
 * Every server runs in a process of its own — Gatehouse exactly as `npm start` runs it
 * (`node bin/gatehouse.js serve`, the compiled build), PostGraphile 5 (default schema, and with
 * @graphile-contrib/pg-many-to-many) from bench/peers/, a bare Apollo Server 5, the SQL floor and
 * an OpenID provider — so /proc tells each one's CPU time and memory. The load comes from other
 * processes (autocannon) or, for multi-request flows, from this one. Within a workload the
 * targets take turns round after round (A B A B …, the order flipped every round), and the
 * medians over the rounds are reported with the server CPU time per request, the figure to trust
 * on a shared machine.
 *
 * Environment: BENCH_DURATION (s per run, default 5), BENCH_ROUNDS (3), BENCH_WARMUP (2),
 * BENCH_CONNECTIONS (10), BENCH_PREVIEW_TIMEOUT (60 s), TEST_DATABASE_ADMIN_URL.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Pool } from 'pg';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readHiddenFields } from '../test/support/browser';
import { clientAddress, ClientBrowser } from './support/browser';
import {
  ADMIN_URL,
  cloneForRun,
  dropAbandonedRuns,
  ensureTemplate,
  READER,
  SCALE_SSO_PEOPLE,
  W1_SSO_PEOPLE,
  withClient,
  type Dataset,
} from './support/data';
import { API_AUDIENCE, GROUPS_CLAIM, groupName, IDP_PASSWORD, subjectOf } from './support/directory';
import { autocannon, closedLoop, flows, percentile, type FlowOutcome, type HttpRequestSpec, type LoadResult } from './support/load';
import { cpuMs, memory, PostgresCpu, resetPeak } from './support/proc';
import { freePort, startServer, type ServerProcess } from './support/processes';
import { summarizeProfile } from './support/profile';

const ROOT = path.resolve(__dirname, '..');
const PEERS = path.join(__dirname, 'peers');
const SCRATCH = path.join(__dirname, '.scratch');
const execFileAsync = promisify(execFile);

// ---------------------------------------------------------------- settings and selection

const WORKLOADS = [
  'start',
  'w1',
  'w1-500',
  'me',
  'tweets',
  'sso',
  'scim',
  'sso-rules',
  'propagation',
  'bearer',
  'search',
  'search-count',
  'count',
  'page',
  'preview',
] as const;
type WorkloadName = (typeof WORKLOADS)[number];
const GROUPS: Record<string, WorkloadName[]> = {
  all: [...WORKLOADS],
  read: ['w1', 'w1-500', 'me'],
  scale: ['search', 'search-count', 'count', 'page', 'sso-rules', 'bearer', 'preview'],
};

interface Settings {
  duration: number;
  rounds: number;
  warmup: number;
  connections: number;
  previewTimeout: number;
  startRepeats: number;
  quick: boolean;
  profile: boolean;
  selected: Set<WorkloadName>;
}

function settings(argv: string[]): Settings {
  const quick = argv.includes('--quick');
  const profile = argv.includes('--profile');
  const names = argv.filter((arg) => !arg.startsWith('--'));
  const selected = new Set<WorkloadName>();
  for (const name of names.length ? names : ['all']) {
    if (GROUPS[name]) GROUPS[name].forEach((w) => selected.add(w));
    else if ((WORKLOADS as readonly string[]).includes(name)) selected.add(name as WorkloadName);
    else throw new Error(`unknown workload "${name}": choose from ${[...WORKLOADS, ...Object.keys(GROUPS)].join(', ')}`);
  }
  const number = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
  return {
    duration: number('BENCH_DURATION', quick ? 1 : 5),
    rounds: number('BENCH_ROUNDS', quick ? 1 : 3),
    warmup: number('BENCH_WARMUP', quick ? 1 : 2),
    connections: number('BENCH_CONNECTIONS', 10),
    previewTimeout: number('BENCH_PREVIEW_TIMEOUT', quick ? 10 : 60),
    startRepeats: quick ? 2 : 5,
    quick,
    profile,
    selected,
  };
}

// ---------------------------------------------------------------- small helpers

const say = (line = '') => process.stdout.write(line + '\n');
const median = (values: number[]) => {
  const finite = values.filter((v) => Number.isFinite(v));
  if (!finite.length) return NaN;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '—');
const pad = (text: string, width: number) => (text.length >= width ? text : ' '.repeat(width - text.length) + text);

async function graphql(url: string, query: string, options: { token?: string; cookie?: string; variables?: Record<string, unknown> } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.cookie) headers.cookie = options.cookie;
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables: options.variables }),
  });
  const body = (await response.json()) as { data?: Record<string, unknown>; errors?: Array<{ message: string }> };
  if (body.errors?.length) throw new Error(`${url}: ${body.errors.map((e) => e.message).join('; ')}`);
  return body.data!;
}

function gqlRequest(url: string, query: string, headers: Record<string, string> = {}): HttpRequestSpec {
  return {
    url: `${url}/graphql`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  };
}

// ---------------------------------------------------------------- the servers

interface Servers {
  idp?: ServerProcess;
  gatehouse: Partial<Record<Dataset, ServerProcess>>;
  /** Gatehouse on the w1 data with back-channel logout and a 1 s SSO_REFRESH_INTERVAL (propagation). */
  lifecycle?: ServerProcess;
  pgDefault?: ServerProcess;
  pgManyToMany?: ServerProcess;
  floor?: ServerProcess;
  apollo?: ServerProcess;
  /** The same Apollo Server behind Express 5, as Gatehouse serves /graphql. */
  apolloExpress?: ServerProcess;
  /** With BENCH_METRICS=1: a second Gatehouse on the w1 data with /metrics on (METRICS_PORT), for the `me` row. */
  metered?: ServerProcess;
}

interface RunDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function gatehouseEnv(port: number, db: RunDatabase, idp: ServerProcess, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: db.url,
    LOG_LEVEL: 'warn',
    TRUST_PROXY: 'loopback',
    OIDC_ISSUER: String(idp.info.issuer),
    OIDC_CLIENT_ID: String(idp.info.clientId),
    OIDC_CLIENT_SECRET: String(idp.info.clientSecret),
    OIDC_GROUPS_CLAIM: GROUPS_CLAIM,
    ...extra,
  };
}

async function startGatehouse(name: string, port: number, env: NodeJS.ProcessEnv, profileDir?: string): Promise<ServerProcess> {
  const args = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), path.join(ROOT, 'bin', 'gatehouse.js'), 'serve'];
  return startServer({ name, args, cwd: ROOT, env, ready: { url: `http://127.0.0.1:${port}`, path: '/readyz' } });
}

/** The servers whose memory the report shows: Gatehouse's and the peers that serve GraphQL. */
function memoryTracked(servers: Servers): ServerProcess[] {
  return [...Object.values(servers.gatehouse), servers.pgDefault, servers.pgManyToMany, servers.apollo, servers.apolloExpress].filter(
    Boolean,
  ) as ServerProcess[];
}

function ensurePeersInstalled(): void {
  const stamp = path.join(PEERS, 'node_modules', '.bench-lock-digest');
  const lock = readFileSync(path.join(PEERS, 'package-lock.json'), 'utf8');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === lock) return;
  say('installing the peers (bench/peers: npm ci, once)…');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: PEERS, stdio: ['ignore', 'ignore', 'inherit'] });
  writeFileSync(stamp, lock);
}

// ---------------------------------------------------------------- measuring one run

interface Target {
  label: string;
  server: ServerProcess;
  /** The database whose backends serve it (for PostgreSQL CPU), if any. */
  database?: string;
  drive(seconds: number): Promise<LoadResult>;
}

interface RunResult extends LoadResult {
  cpuPerRequest: number;
  pgPerRequest: number;
  peakRss: number;
  rssAfter: number;
}

let pgCpu: PostgresCpu;

async function measure(target: Target, seconds: number): Promise<RunResult> {
  const { pid } = target.server;
  resetPeak(pid);
  const cpuBefore = cpuMs(pid)!;
  const pgBefore = target.database ? await pgCpu.snapshot(target.database) : new Map<number, number>();
  const result = await target.drive(seconds);
  const cpuAfter = cpuMs(pid);
  const pgAfter = target.database ? await pgCpu.snapshot(target.database) : new Map<number, number>();
  const mem = target.server.alive() ? memory(pid) : { rss: NaN, peak: NaN };
  const requests = Math.max(result.count, 1);
  return {
    ...result,
    cpuPerRequest: cpuAfter === null ? NaN : (cpuAfter - cpuBefore) / requests,
    pgPerRequest: target.database ? PostgresCpu.between(pgBefore, pgAfter) / requests : NaN,
    peakRss: mem.peak,
    rssAfter: mem.rss,
  };
}

interface Summary {
  label: string;
  runs: RunResult[];
  rps: number;
  p50: number;
  p99: number;
  cpu: number;
  pg: number;
  peakRss: number;
  errors: number;
  steps: Record<string, number>;
}

function summarize(label: string, runs: RunResult[]): Summary {
  const steps: Record<string, number> = {};
  for (const name of new Set(runs.flatMap((r) => Object.keys(r.steps ?? {}))))
    steps[name] = percentile(
      runs.flatMap((r) => r.steps?.[name] ?? []),
      50,
    );
  return {
    label,
    runs,
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    cpu: median(runs.map((r) => r.cpuPerRequest)),
    pg: median(runs.map((r) => r.pgPerRequest)),
    peakRss: Math.max(...runs.map((r) => r.peakRss).filter(Number.isFinite)),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    steps,
  };
}

const HEADER = `${'round'.padEnd(7)}${'target'.padEnd(28)}${pad('req/s', 9)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('CPU ms', 9)}${pad('PG ms', 8)}${pad('peak MB', 9)}${pad('errors', 7)}`;
const line = (
  round: string,
  label: string,
  r: { rps: number; p50: number; p99: number; cpu: number; pg: number; peakRss: number; errors: number },
) =>
  `${round.padEnd(7)}${label.padEnd(28)}${pad(fmt(r.rps), 9)}${pad(fmt(r.p50), 9)}${pad(fmt(r.p99), 9)}${pad(fmt(r.cpu, 2), 9)}${pad(fmt(r.pg, 2), 8)}${pad(fmt(r.peakRss, 0), 9)}${pad(String(r.errors), 7)}`;

/** Warm-up, then `rounds` rounds with the targets taking turns (order flipped each round); medians. */
async function compare(title: string, targets: Target[], s: Settings, onRound?: (round: number) => void): Promise<Summary[]> {
  say(`\n== ${title}`);
  for (const target of targets) await target.drive(s.warmup);
  say(HEADER);
  const runs = new Map<string, RunResult[]>(targets.map((t) => [t.label, []]));
  for (let round = 1; round <= s.rounds; round++) {
    const order = round % 2 ? targets : [...targets].reverse();
    for (const target of order) {
      const r = await measure(target, s.duration);
      runs.get(target.label)!.push(r);
      say(line(String(round), target.label, { ...r, cpu: r.cpuPerRequest, pg: r.pgPerRequest }));
      if (r.firstError) say(`       first error: ${r.firstError.slice(0, 300)}`);
    }
    onRound?.(round);
  }
  const summaries = targets.map((t) => summarize(t.label, runs.get(t.label)!));
  for (const summary of summaries) say(line('median', summary.label, summary));
  return summaries;
}

// ---------------------------------------------------------------- the suite

interface Report {
  date: string;
  commit: string;
  settings: Omit<Settings, 'selected'> & { selected: string[] };
  machine: { cpus: number; loadAverage: number[] };
  workloads: Record<string, Summary[]>;
  extra: Record<string, unknown>;
}

export async function main(): Promise<number> {
  const s = settings(process.argv.slice(3));
  const has = (...names: WorkloadName[]) => names.some((n) => s.selected.has(n));
  const needW1 = has('start', 'w1', 'w1-500', 'me', 'tweets', 'sso', 'scim', 'propagation');
  const needScale = has('search', 'search-count', 'count', 'page', 'sso-rules', 'bearer', 'preview');
  const needPeers = has('w1', 'w1-500');
  const report: Report = {
    date: new Date().toISOString(),
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim(),
    settings: { ...s, selected: [...s.selected] },
    machine: { cpus: (await import('node:os')).cpus().length, loadAverage: (await import('node:os')).loadavg() },
    workloads: {},
    extra: {},
  };
  say(`gatehouse bench ${report.date} at ${report.commit}: ${[...s.selected].join(' ')}`);
  say(
    `${s.rounds} round(s) of ${s.duration} s per target after ${s.warmup} s of warm-up, ${s.connections} connections; load average ${report.machine.loadAverage.map((l) => l.toFixed(1)).join(' ')}`,
  );

  // The compiled build, as `npm start` would make it.
  await execFileAsync(process.execPath, [path.join(ROOT, 'bin', 'gatehouse.js'), '--help'], { cwd: ROOT });
  if (needPeers) ensurePeersInstalled();
  await dropAbandonedRuns();
  const templates: Partial<Record<Dataset, string>> = {};
  if (needW1) templates.w1 = await ensureTemplate('w1', say);
  if (needScale) templates.scale = await ensureTemplate('scale', say);

  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  pgCpu = new PostgresCpu(admin);
  const databases: Partial<Record<Dataset, RunDatabase>> = {};
  const servers: Servers = { gatehouse: {} };
  const profileDir = s.profile ? path.join(SCRATCH, 'profiles', report.date.replace(/[:.]/g, '-')) : undefined;
  try {
    // The provider first: Gatehouse discovers it at start; its client knows Gatehouse's redirect URIs.
    const ports: Partial<Record<Dataset, number>> = {};
    if (needW1) ports.w1 = await freePort();
    if (needScale) ports.scale = await freePort();
    const publicUrls = Object.values(ports).map((port) => `http://127.0.0.1:${port}`);
    const lifecyclePort = has('propagation') ? await freePort() : null;
    servers.idp = await startServer({
      name: 'identity provider',
      args: [path.join(__dirname, 'run.js'), 'servers/idp'],
      cwd: ROOT,
      env: {
        ...process.env,
        BENCH_NODE_ENV: 'development',
        REDIRECT_URIS: publicUrls.map((u) => `${u}/oidc/callback/`).join(','),
        POST_LOGOUT_URIS: publicUrls.map((u) => `${u}/login`).join(','),
        ...(lifecyclePort ? { LIFECYCLE_URL: `http://127.0.0.1:${lifecyclePort}` } : {}),
      },
      ready: { json: true },
    });
    const idp = servers.idp;
    for (const dataset of ['w1', 'scale'] as const) {
      if (!templates[dataset]) continue;
      databases[dataset] = await cloneForRun(templates[dataset]!, dataset, String(idp.info.issuer));
      const extra: Record<string, string> = dataset === 'w1' ? { SSO_REQUIRE_MAPPED_GROUP: 'false' } : { OIDC_API_AUDIENCE: API_AUDIENCE };
      servers.gatehouse[dataset] = await startGatehouse(
        `gatehouse (${dataset})`,
        ports[dataset]!,
        gatehouseEnv(ports[dataset]!, databases[dataset]!, idp, extra),
        profileDir,
      );
    }
    if (has('me') && process.env.BENCH_METRICS === '1') {
      const port = await freePort();
      servers.metered = await startGatehouse(
        'gatehouse (w1, metrics on)',
        port,
        gatehouseEnv(port, databases.w1!, idp, { SSO_REQUIRE_MAPPED_GROUP: 'false', METRICS_PORT: '0' }),
      );
    }
    if (lifecyclePort) {
      servers.lifecycle = await startGatehouse(
        'gatehouse (lifecycle)',
        lifecyclePort,
        gatehouseEnv(lifecyclePort, databases.w1!, idp, {
          SSO_REQUIRE_MAPPED_GROUP: 'false',
          OIDC_CLIENT_ID: String(idp.info.lifecycleClientId),
          OIDC_CLIENT_SECRET: String(idp.info.lifecycleClientSecret),
          SESSION_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
          SSO_REFRESH_INTERVAL: String(PROPAGATION_REFRESH_INTERVAL_S),
        }),
      );
    }
    if (needPeers) {
      const db = databases.w1!;
      servers.pgDefault = await startServer({
        name: 'PostGraphile',
        args: ['postgraphile.mjs'],
        cwd: PEERS,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', DATABASE_URL: db.url },
        ready: { json: true },
      });
      servers.pgManyToMany = await startServer({
        name: 'PostGraphile many-to-many',
        args: ['postgraphile.mjs'],
        cwd: PEERS,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', DATABASE_URL: db.url, PG_MANY_TO_MANY: '1' },
        ready: { json: true },
      });
      servers.floor = await startServer({
        name: 'SQL floor',
        args: [path.join(__dirname, 'servers', 'sql-floor.js')],
        cwd: ROOT,
        env: { PATH: process.env.PATH, NODE_ENV: 'production', DATABASE_URL: db.url },
        ready: { json: true },
      });
    }
    if (has('me')) {
      servers.apollo = await startServer({
        name: 'Apollo Server hello',
        args: [path.join(__dirname, 'servers', 'apollo-hello.js')],
        cwd: ROOT,
        env: { PATH: process.env.PATH, NODE_ENV: 'production' },
        ready: { json: true },
      });
      servers.apolloExpress = await startServer({
        name: 'Apollo Server hello, Express',
        args: [path.join(__dirname, 'servers', 'apollo-hello.js')],
        cwd: ROOT,
        env: { PATH: process.env.PATH, NODE_ENV: 'production', APOLLO_INTEGRATION: 'express' },
        ready: { json: true },
      });
    }
    for (const server of Object.values(servers.gatehouse))
      say(
        `${server.name}: ready in ${server.started.ms.toFixed(0)} ms (${server.started.cpuMs} ms CPU, ${server.started.rssMb.toFixed(0)} MB)`,
      );

    // The reader's session (a bearer token; the same token as a cookie for `me`).
    const tokens: Partial<Record<Dataset, string>> = {};
    for (const [dataset, server] of Object.entries(servers.gatehouse) as Array<[Dataset, ServerProcess]>) {
      const data = await graphql(server.url, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', {
        variables: { u: READER.username, p: READER.password },
      });
      tokens[dataset] = (data.login as { token: string }).token;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idle: Record<string, number> = {};
    for (const server of memoryTracked(servers)) idle[server.name] = memory(server.pid).rss;
    report.extra.idleRssMb = idle;

    if (has('start')) report.extra.start = await startup(s, databases.w1!);

    const gw1 = servers.gatehouse.w1;
    const gscale = servers.gatehouse.scale;
    const rssAfterRound: Record<string, number[]> = {};
    const trackRss = (server: ServerProcess | undefined) => () => {
      if (server) (rssAfterRound[server.name] ??= []).push(memory(server.pid).rss);
    };

    for (const first of [50, 500] as const) {
      const name = first === 50 ? 'w1' : 'w1-500';
      if (!has(name)) continue;
      // A target that does not give the answer (Gatehouse's query limits refuse 500 users) is shown and left out.
      const targets: Target[] = [];
      for (const target of w1Targets(first, servers, databases.w1!.name, tokens.w1!, s.connections)) {
        const problem = await checkW1(target, first);
        if (problem) say(`  ${target.label}: left out, it does not answer: ${problem}`);
        else targets.push(target);
      }
      report.extra[`${name}-left-out`] = targets.length < 4;
      report.workloads[name] = await compare(
        `${name}: first ${first} users → groups → permission codenames (10,000 users, 50 groups × 20 permissions, 3 groups each)`,
        targets,
        s,
        trackRss(gw1),
      );
      printRatios(report.workloads[name], [
        ['Gatehouse', 'PostGraphile', 'vs PostGraphile default (target ≥ 3×)'],
        ['Gatehouse', 'PostGraphile many-to-many', 'vs PostGraphile many-to-many (target ≥ 2×)'],
        ['Gatehouse', 'SQL floor', 'vs the SQL floor (target ≥ 0.4×)'],
      ]);
    }

    if (has('me')) {
      const me = '{ me { user { username } } }';
      const targets: Target[] = [
        autocannonTarget(
          'Gatehouse me (cookie)',
          gw1!,
          databases.w1!.name,
          gqlRequest(gw1!.url, me, { cookie: `gatehouse_session=${tokens.w1}` }),
          s.connections,
        ),
        autocannonTarget('Apollo Server hello', servers.apollo!, undefined, gqlRequest(servers.apollo!.url, '{ hello }'), s.connections),
        autocannonTarget(
          'Apollo hello, Express',
          servers.apolloExpress!,
          undefined,
          gqlRequest(servers.apolloExpress!.url, '{ hello }'),
          s.connections,
        ),
      ];
      // The same session works on the second instance: sessions live in the shared database.
      if (servers.metered)
        targets.splice(
          1,
          0,
          autocannonTarget(
            'Gatehouse me, metrics on',
            servers.metered,
            databases.w1!.name,
            gqlRequest(servers.metered.url, me, { cookie: `gatehouse_session=${tokens.w1}` }),
            s.connections,
          ),
        );
      report.workloads.me = await compare('me: { me { user { username } } } against a bare Apollo Server 5 { hello }', targets, s);
      printRatios(report.workloads.me, [
        ['Gatehouse me (cookie)', 'Apollo Server hello', 'me vs bare Apollo (target ≥ 0.5×)'],
        ['Apollo hello, Express', 'Apollo Server hello', 'bare Apollo behind Express vs standalone (what the HTTP framework costs)'],
        ['Gatehouse me (cookie)', 'Apollo hello, Express', 'me vs bare Apollo behind Express'],
      ]);
    }

    if (has('tweets')) {
      const target: Target = {
        label: 'Gatehouse tweet mutations',
        server: gw1!,
        database: databases.w1!.name,
        drive: (seconds) => flows(s.connections, seconds, (worker, i) => tweetFlow(gw1!.url, tokens.w1!, worker, i)),
      };
      report.workloads.tweets = await compare(
        'tweets: createTweet → updateTweet → deleteTweet, each audited (req/s and CPU per mutation; latency per create-update-delete)',
        [target],
        s,
      );
    }

    if (has('sso')) {
      const target = ssoTarget('Gatehouse sign-in, 0 rules', gw1!, databases.w1!.name, idp, W1_SSO_PEOPLE);
      report.workloads.sso = await compare(
        'sso: single sign-on, full browser flow against a separate IdP, 5 concurrent, no mapping rules',
        [target],
        s,
        trackRss(gw1),
      );
      printSso(report.workloads.sso[0]);
    }

    if (has('scim')) {
      const pool = new Pool({ connectionString: databases.w1!.url, max: 5 });
      try {
        const secret = await provisioningTokenFor(pool, String(idp.info.issuer));
        const target: Target = {
          label: 'Gatehouse SCIM deactivation',
          server: gw1!,
          database: databases.w1!.name,
          drive: (seconds) => flows(5, seconds, (worker, i) => scimDeactivationFlow(gw1!.url, pool, secret, worker, i)),
        };
        report.workloads.scim = await compare(
          'scim: a signed-in user deactivated through SCIM (PATCH active false) → their first refused request, 5 concurrent',
          [target],
          s,
        );
        printScim(report.workloads.scim[0]);
      } finally {
        await pool.end();
      }
    }

    if (has('propagation')) report.extra.propagation = await propagation(servers.lifecycle!, idp, s);

    if (gscale) {
      const token = tokens.scale!;
      const auth = { authorization: `Bearer ${token}` };
      const scaleRow = async (name: WorkloadName, title: string, rows: Array<[string, string]>) => {
        if (!has(name)) return;
        const targets = rows.map(([label, query]) =>
          slowTarget(label, gscale, databases.scale!.name, gqlRequest(gscale.url, query, auth), s.connections),
        );
        for (const [, query] of rows) await graphql(gscale.url, query, { token });
        report.workloads[name] = await compare(title, targets, s);
      };
      const page = '{ edges { node { username } } }';
      await scaleRow('search', 'search at 100,000 users (target p99 ≤ 25 ms)', [
        ['search olivia.smith (4)', `{ users(first: 20, filter: { search: "olivia.smith" }) ${page} }`],
        ['search, no match', `{ users(first: 20, filter: { search: "zzqx-nomatch" }) ${page} }`],
      ]);
      await scaleRow('search-count', 'search with totalCount at 100,000 users (target p99 ≤ 25 ms)', [
        [
          'search olivia.smith + count',
          `{ users(first: 20, filter: { search: "olivia.smith" }) { totalCount edges { node { username } } } }`,
        ],
        ['search, no match + count', `{ users(first: 20, filter: { search: "zzqx-nomatch" }) { totalCount edges { node { username } } } }`],
      ]);
      await scaleRow('count', 'users(first: 20) { totalCount } at 100,000 users (target p99 ≤ 25 ms)', [
        ['users totalCount', '{ users(first: 20) { totalCount } }'],
      ]);
      if (has('page')) {
        const cursors = await pageCursors(databases.scale!.url);
        await scaleRow('page', 'page 2000 (20 a page) at 100,000 users (target p99 ≤ 25 ms)', [
          ['page 2000 DATE_JOINED_DESC', `{ users(first: 20, after: "${cursors.DATE_JOINED_DESC}", orderBy: DATE_JOINED_DESC) ${page} }`],
          ['page 2000 USERNAME_ASC', `{ users(first: 20, after: "${cursors.USERNAME_ASC}", orderBy: USERNAME_ASC) ${page} }`],
        ]);
      }
      if (has('sso-rules')) {
        const target = ssoTarget('Gatehouse sign-in, 5,000 rules', gscale, databases.scale!.name, idp, SCALE_SSO_PEOPLE);
        report.workloads['sso-rules'] = await compare(
          'sso-rules: single sign-on with 5,000 mapping rules (100,000 users, 10,000 identities), 5 concurrent',
          [target],
          s,
          trackRss(gscale),
        );
        printSso(report.workloads['sso-rules'][0]);
      }
      if (has('bearer')) {
        const jwt = await (await fetch(`${idp.url}/bench/token?sub=${subjectOf(5)}`)).text();
        const me = '{ me { user { username } } }';
        await graphql(gscale.url, me, { token: jwt });
        const targets: Target[] = [
          slowTarget(
            'me, provider JWT',
            gscale,
            databases.scale!.name,
            gqlRequest(gscale.url, me, { authorization: `Bearer ${jwt}` }),
            s.connections,
          ),
          slowTarget(
            'me, session cookie',
            gscale,
            databases.scale!.name,
            gqlRequest(gscale.url, me, { cookie: `gatehouse_session=${token}` }),
            s.connections,
          ),
        ];
        report.workloads.bearer = await compare(
          'bearer: me with a provider JWT access token (OIDC_API_AUDIENCE), 5,000 rules, against a session cookie',
          targets,
          s,
        );
        printRatios(report.workloads.bearer, [['me, provider JWT', 'me, session cookie', 'JWT vs cookie (target ≥ 0.5×: within 2×)']]);
      }
      if (has('preview')) {
        report.extra.preview = await preview(gscale, databases.scale!, token, s);
      }
    }

    // Memory: idle, the high-water mark under load, after the runs.
    const memoryReport: Record<string, unknown> = {};
    say('\n== memory (RSS, MB)');
    for (const server of memoryTracked(servers)) {
      if (!server.alive()) continue;
      const peaks = Object.values(report.workloads)
        .flat()
        .filter((w) => w.runs.length && targetsOf(w, server))
        .map((w) => w.peakRss);
      const now = memory(server.pid);
      memoryReport[server.name] = {
        idle: idle[server.name],
        peakUnderLoad: Math.max(...peaks, NaN),
        after: now.rss,
        afterRounds: rssAfterRound[server.name] ?? [],
      };
      say(
        `  ${server.name.padEnd(28)} idle ${fmt(idle[server.name], 0)}   peak under load ${fmt(Math.max(...peaks), 0)}   after the runs ${fmt(now.rss, 0)}` +
          (rssAfterRound[server.name]?.length
            ? `   after each round: ${rssAfterRound[server.name].map((v) => v.toFixed(0)).join(' ')}`
            : ''),
      );
    }
    report.extra.memory = memoryReport;
  } finally {
    for (const server of [
      ...Object.values(servers.gatehouse),
      servers.lifecycle,
      servers.metered,
      servers.pgDefault,
      servers.pgManyToMany,
      servers.floor,
      servers.apollo,
      servers.apolloExpress,
      servers.idp,
    ])
      await server?.stop().catch(() => undefined);
    await admin.end().catch(() => undefined);
    for (const db of Object.values(databases))
      await db?.drop().catch((error: unknown) => say(`could not drop ${db.name}: ${String(error)}`));
  }
  if (profileDir) {
    say('\n== CPU profile of Gatehouse (self time by package; whole process life)');
    for (const line of summarizeProfile(profileDir)) say(line);
  }
  mkdirSync(SCRATCH, { recursive: true });
  const file = path.join(SCRATCH, `results-${report.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify(report, (key, value) => (key === 'runs' ? value.map((r: RunResult) => ({ ...r, steps: undefined })) : value), 2),
  );
  say(`\nresults: ${path.relative(ROOT, file)}`);
  return 0;
}

// Every Summary was measured on one server; labels tell which.
const targetLabels = new Map<string, string>();
const targetsOf = (summary: Summary, server: ServerProcess) => targetLabels.get(summary.label) === server.name;
/** What each autocannon target sends (to check its answer first). */
const requests = new WeakMap<Target, HttpRequestSpec>();

/** A target driven by autocannon: for fast requests, where the load generator's own cost matters. */
function autocannonTarget(
  label: string,
  server: ServerProcess,
  database: string | undefined,
  request: HttpRequestSpec,
  connections: number,
): Target {
  targetLabels.set(label, server.name);
  const target: Target = { label, server, database, drive: (seconds) => autocannon(request, seconds, connections) };
  requests.set(target, request);
  return target;
}

/** A target driven by closed loops that wait for their last request: for requests that may take longer than a run. */
function slowTarget(
  label: string,
  server: ServerProcess,
  database: string | undefined,
  request: HttpRequestSpec,
  connections: number,
): Target {
  targetLabels.set(label, server.name);
  return { label, server, database, drive: (seconds) => closedLoop(request, seconds, connections) };
}

function printRatios(summaries: Summary[], pairs: Array<[string, string, string]>): void {
  for (const [a, b, title] of pairs) {
    const x = summaries.find((s) => s.label === a);
    const y = summaries.find((s) => s.label === b);
    if (!x || !y) continue;
    say(
      `  ${title}: ${fmt(x.rps / y.rps, 2)}× the req/s; server CPU per request ${fmt(x.cpu, 2)} ms vs ${fmt(y.cpu, 2)} ms (${fmt(y.cpu / x.cpu, 2)}× less)`,
    );
  }
}

// ---------------------------------------------------------------- W1

function w1Targets(first: number, servers: Servers, database: string, token: string, connections: number): Target[] {
  const gh = servers.gatehouse.w1!;
  const byUsername = `allAuthUsers(first: ${first}, orderBy: USERNAME_ASC)`;
  return [
    autocannonTarget(
      'Gatehouse',
      gh,
      database,
      gqlRequest(gh.url, `{ users(first: ${first}) { edges { node { username groups { name permissions { codename } } } } } }`, {
        authorization: `Bearer ${token}`,
      }),
      connections,
    ),
    autocannonTarget(
      'PostGraphile',
      servers.pgDefault!,
      database,
      gqlRequest(
        servers.pgDefault!.url,
        `{ ${byUsername} { nodes { username authUserGroupsByUserId { nodes { authGroupByGroupId { name authGroupPermissionsByGroupId { nodes { authPermissionByPermissionId { codename } } } } } } } } }`,
      ),
      connections,
    ),
    autocannonTarget(
      'PostGraphile many-to-many',
      servers.pgManyToMany!,
      database,
      gqlRequest(
        servers.pgManyToMany!.url,
        `{ ${byUsername} { nodes { username authGroupsByAuthUserGroupUserIdAndGroupId { nodes { name authPermissionsByAuthGroupPermissionGroupIdAndPermissionId { nodes { codename } } } } } } }`,
      ),
      connections,
    ),
    autocannonTarget(
      'SQL floor',
      servers.floor!,
      database,
      { url: `${servers.floor!.url}/w1`, method: 'POST', body: JSON.stringify({ first }) },
      connections,
    ),
  ];
}

/** Whether a target answers W1 (`first` users, each with 3 groups of 20 permissions): null, or what is wrong. */
async function checkW1(target: Target, first: number): Promise<string | null> {
  const request = requests.get(target)!;
  const response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
  const text = await response.text();
  const counts: Array<{ groups: number; permissions: number[] }> = [];
  const body = JSON.parse(text) as { data?: Record<string, unknown>; errors?: unknown };
  const users =
    (body.data?.users as { edges: Array<{ node: Record<string, unknown> }> } | undefined)?.edges.map((e) => e.node) ??
    (body.data?.allAuthUsers as { nodes: Array<Record<string, unknown>> } | undefined)?.nodes ??
    [];
  for (const user of users) {
    const groups =
      (user.groups as Array<{ permissions: unknown[] }> | undefined) ??
      (user.authGroupsByAuthUserGroupUserIdAndGroupId as { nodes: Array<Record<string, { nodes: unknown[] }>> } | undefined)?.nodes.map(
        (g) => ({
          permissions: g.authPermissionsByAuthGroupPermissionGroupIdAndPermissionId.nodes,
        }),
      ) ??
      (
        user.authUserGroupsByUserId as
          { nodes: Array<{ authGroupByGroupId: { authGroupPermissionsByGroupId: { nodes: unknown[] } } }> } | undefined
      )?.nodes.map((m) => ({ permissions: m.authGroupByGroupId.authGroupPermissionsByGroupId.nodes })) ??
      [];
    counts.push({ groups: groups.length, permissions: groups.map((g) => g.permissions.length) });
  }
  const ok = counts.length === first && counts.every((c) => c.groups === 3 && c.permissions.every((p) => p === 20));
  if (!ok) return text.slice(0, 300);
  say(`  ${target.label}: W1 answer checked (${first} users × 3 groups × 20 permissions, ${(text.length / 1024).toFixed(0)} KB)`);
  return null;
}

// ---------------------------------------------------------------- flows

async function tweetFlow(url: string, token: string, worker: number, i: number): Promise<FlowOutcome> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const call = async (query: string, variables: Record<string, unknown>) => {
    const response = await fetch(`${url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const body = (await response.json()) as { data?: Record<string, { id: string } | string>; errors?: Array<{ message: string }> };
    if (body.errors?.length || !body.data) throw new Error(`tweet mutation failed: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
  const created = await call('mutation($input: CreateTweetInput!) { createTweet(input: $input) { id } }', {
    input: { screenName: `bench${worker}`, tweetId: String(1_000_000 + i), whenTweetWasCreated: new Date().toISOString() },
  });
  const id = (created.createTweet as { id: string }).id;
  await call('mutation($id: ID!, $input: UpdateTweetInput!) { updateTweet(id: $id, input: $input) { id } }', {
    id,
    input: { screenName: `bench${worker}b` },
  });
  await call('mutation($id: ID!) { deleteTweet(id: $id) { deletedId } }', { id });
  return { requests: 3 };
}

/** One person's sign-in, as a browser does it: Gatehouse → provider login form → callback → session cookie. */
async function signIn(gatehouse: string, person: number): Promise<FlowOutcome> {
  const { callbackMs } = await signInBrowser(gatehouse, person);
  return { requests: 1, steps: { callback: callbackMs } };
}

/** `signIn`, returning the browser (its cookies: the Gatehouse session, the provider's session) and the callback's time. */
async function signInBrowser(gatehouse: string, person: number): Promise<{ browser: ClientBrowser; callbackMs: number }> {
  const browser = new ClientBrowser(clientAddress(person));
  const begin = await browser.get(`${gatehouse}/oidc/authenticate/`);
  const authorize = begin.headers.get('location');
  if (begin.status !== 302 || !authorize) throw new Error(`sign-in did not start: ${begin.status}`);
  // Followed until the provider's login form (or back at Gatehouse), which is not fetched yet.
  const atLogin = await browser.follow(
    authorize,
    (next) => !(next.href.startsWith(gatehouse) || /\/interaction\/[^/]+$/.test(next.pathname)),
  );
  if (!atLogin.next) throw new Error(`the provider showed no login form: ${atLogin.response.status}`);
  const loginUrl = atLogin.next.href;
  await browser.get(loginUrl); // the form, as a browser shows it
  const posted = await browser.request(loginUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: subjectOf(person), password: IDP_PASSWORD }).toString(),
  });
  const back = posted.headers.get('location');
  if (!back) throw new Error(`the provider refused the login: ${posted.status}`);
  const toCallback = await browser.follow(new URL(back, loginUrl).href, (next) => !next.href.startsWith(`${gatehouse}/oidc/callback/`));
  if (!toCallback.next) throw new Error(`the provider did not return to Gatehouse: ${toCallback.response.status}`);
  const started = performance.now();
  const callback = await browser.get(toCallback.next);
  const callbackMs = performance.now() - started;
  if (callback.status !== 303 || !browser.cookie('gatehouse_session'))
    throw new Error(`the callback did not sign in (${callback.status} → ${callback.headers.get('location')})`);
  return { browser, callbackMs };
}

function ssoTarget(label: string, server: ServerProcess, database: string, idp: ServerProcess, people: number): Target {
  targetLabels.set(label, server.name);
  let next = Math.floor(Math.random() * people);
  return {
    label,
    server,
    database,
    drive: async (seconds) => {
      await fetch(`${idp.url}/bench/stats`); // forget the provider's earlier token times
      // What the rest of the machine spends per sign-in: the provider and this load generator.
      const idpBefore = cpuMs(idp.pid)!;
      const clientBefore = process.cpuUsage();
      const result = await flows(5, seconds, () => signIn(server.url, next++ % people));
      const client = process.cpuUsage(clientBefore);
      const idpCpu = (cpuMs(idp.pid)! - idpBefore) / Math.max(result.count, 1);
      const clientCpu = (client.user + client.system) / 1000 / Math.max(result.count, 1);
      const { token } = (await (await fetch(`${idp.url}/bench/stats`)).json()) as { token: number[] };
      return { ...result, steps: { ...result.steps, idpToken: token, idpCpu: [idpCpu], clientCpu: [clientCpu] } };
    },
  };
}

/** A provisioning token for `issuer`, written straight into the run's database (as createProvisioningToken stores it); its secret. */
async function provisioningTokenFor(pool: Pool, issuer: string): Promise<string> {
  const secret = `gh_scim_${randomBytes(32).toString('base64url')}`;
  await pool.query(`insert into sso_provisioningtoken (description, issuer, token_hash, created_at) values ('bench', $1, $2, now())`, [
    issuer,
    createHash('sha256').update(secret).digest('hex'),
  ]);
  return secret;
}

const RUN_TAG = randomBytes(3).toString('hex');
let scimSerial = 0;

/**
 * One SCIM deactivation, timed from the directory's side: a user provisioned through SCIM (POST)
 * with a live session (written straight into auth_session, as a sign-in would: the set-up, not
 * measured), whose `me` answers; then the PATCH `{"active": false}` Okta sends, and `me` again
 * until it is refused. Steps: `patch` (the PATCH's round trip), `propagation` (from sending the
 * PATCH to the first refused request), `me` (one request of the live session: the baseline),
 * `requestsToRefusal` (how many requests after the PATCH's answer until one was refused: 1 when
 * the deactivation took effect before the answer).
 */
async function scimDeactivationFlow(url: string, pool: Pool, secret: string, worker: number, i: number): Promise<FlowOutcome> {
  const scim = async (method: string, path: string, body: unknown) => {
    const response = await fetch(`${url}/scim/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`SCIM ${method} ${path}: ${response.status} ${text.slice(0, 200)}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const name = `scim-${RUN_TAG}-${worker}-${++scimSerial}`;
  const created = await scim('POST', '/Users', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName: name,
    externalId: name,
    name: { givenName: 'Bench', familyName: `worker ${worker}, flow ${i}` },
    active: true,
  });
  const session = randomBytes(32).toString('base64url');
  await pool.query(
    `insert into auth_session (id, token_hash, user_id, auth_method, created_at, last_seen_at, expires_at, user_agent, ip_address)
     select $1, $2, user_id, 'oidc', now(), now(), now() + interval '1 hour', 'bench', '127.0.0.1' from scim_user where id = $3`,
    [randomUUID(), createHash('sha256').update(session).digest('hex'), created.id],
  );
  const me = async () => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `gatehouse_session=${session}` },
      body: '{"query":"{ me { user { username } } }"}',
    });
    const body = (await response.json()) as { data?: { me: { user: { username: string } } | null } };
    return body.data?.me?.user.username ?? null;
  };
  const meStarted = performance.now();
  if ((await me()) !== name) throw new Error(`the session of ${name} does not answer before its deactivation`);
  const meMs = performance.now() - meStarted;
  const sent = performance.now();
  await scim('PATCH', `/Users/${String(created.id)}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', value: { active: false } }],
  });
  const answered = performance.now();
  let requests = 0;
  for (;;) {
    requests++;
    if ((await me()) === null) break;
    if (requests >= 1000) throw new Error(`${name} still answers after 1000 requests`);
  }
  return {
    requests: 3 + requests,
    steps: { me: meMs, patch: answered - sent, propagation: performance.now() - sent, requestsToRefusal: requests },
  };
}

function printScim(summary: Summary): void {
  const { me, patch, propagation, requestsToRefusal } = summary.steps;
  say(
    `  SCIM deactivation → first refused request: p50 ${fmt(propagation)} ms (the PATCH's round trip ${fmt(patch)} ms, then ${fmt(requestsToRefusal, 0)} request(s) until one is refused); ` +
      `one live request p50 ${fmt(me)} ms: propagation = ${fmt(propagation / me)}× a request (target: refused on the next request)`,
  );
}

function printSso(summary: Summary): void {
  const { callback, idpToken: token, idpCpu, clientCpu } = summary.steps;
  say(
    `  ${fmt(summary.rps)} sign-ins/s (target ≥ 100); callback p50 ${fmt(callback)} ms, of which the provider's token endpoint p50 ${fmt(token)} ms: ` +
      `${fmt(callback - token)} ms excluding the IdP (target ≤ 10 ms); ${fmt(summary.cpu)} ms Gatehouse CPU per sign-in`,
  );
  // The cores the rest of the flow takes bound the rate whatever Gatehouse spends.
  const others = idpCpu + clientCpu + summary.pg;
  say(
    `  CPU per sign-in elsewhere: the provider ${fmt(idpCpu)} ms, the load generator ${fmt(clientCpu)} ms, PostgreSQL ${fmt(summary.pg)} ms; ` +
      `on ${availableParallelism()} cores that alone caps the rate at ${fmt((availableParallelism() * 1000) / others, 0)} sign-ins/s ` +
      `(${fmt((availableParallelism() * 1000) / (others + summary.cpu), 0)} with Gatehouse's share)`,
  );
}

// ---------------------------------------------------------------- propagation

/** SSO_REFRESH_INTERVAL of the lifecycle server: the bound of the refresh path's propagation. */
const PROPAGATION_REFRESH_INTERVAL_S = 1;

/**
 * How long a change at the provider takes to refuse a Gatehouse request, one person at a time
 * (people u0, u1, … of the w1 directory signing in to the lifecycle server):
 * - back-channel: the person confirms "sign out" on the provider's own page; the provider POSTs
 *   its logout token to Gatehouse before it answers; then `me` until refused. Measured from the
 *   confirmation's POST to the first refused answer, with the provider's back-channel POST alone.
 * - refresh refused: the person is disabled at the provider (their refresh is refused with
 *   invalid_grant from then on); `me` every 20 ms until refused. Measured from the change to the
 *   first refused answer — at most SSO_REFRESH_INTERVAL (1 s here) plus one request — and the
 *   refusing request alone (the refresh at the provider included).
 */
async function propagation(server: ServerProcess, idp: ServerProcess, s: Settings): Promise<Record<string, unknown>> {
  const samples = s.quick ? 3 : 10 * s.rounds;
  const me = async (browser: ClientBrowser) => {
    const started = performance.now();
    const response = await browser.request(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { user { username } } }' }),
    });
    const body = (await response.json()) as { data?: { me: unknown } };
    return { signedIn: Boolean(body.data?.me), ms: performance.now() - started };
  };
  const backchannel: number[] = [];
  const refresh: number[] = [];
  const refusingRequest: number[] = [];
  let person = 0;
  say(`\n== propagation: a change at the provider to the first refused Gatehouse request (${samples} people each, one at a time)`);
  await fetch(`${idp.url}/bench/stats`); // forget earlier timings
  for (let i = 0; i < samples; i++) {
    const { browser } = await signInBrowser(server.url, person++);
    if (!(await me(browser)).signedIn) throw new Error('propagation: the person is not signed in');
    const page = await browser.get(`${idp.url}/session/end`);
    const fields = readHiddenFields(await page.text());
    const changed = performance.now();
    await browser.request(`${idp.url}/session/end/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...fields, logout: 'yes' }).toString(),
    });
    while ((await me(browser)).signedIn) if (performance.now() - changed > 10_000) throw new Error('back-channel logout never refused');
    backchannel.push(performance.now() - changed);
  }
  const { backchannel: posts } = (await (await fetch(`${idp.url}/bench/stats`)).json()) as { backchannel: number[] };
  for (let i = 0; i < samples; i++) {
    const subject = person++;
    const { browser } = await signInBrowser(server.url, subject);
    if (!(await me(browser)).signedIn) throw new Error('propagation: the person is not signed in');
    // Spread the change over the refresh interval, as changes come at any time.
    await new Promise((resolve) => setTimeout(resolve, (i / samples) * PROPAGATION_REFRESH_INTERVAL_S * 1000));
    await fetch(`${idp.url}/bench/disable?sub=${subjectOf(subject)}`);
    const changed = performance.now();
    for (;;) {
      const answer = await me(browser);
      if (!answer.signedIn) {
        refusingRequest.push(answer.ms);
        break;
      }
      if (performance.now() - changed > 10_000 + PROPAGATION_REFRESH_INTERVAL_S * 1000) throw new Error('refused refresh never refused');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    refresh.push(performance.now() - changed);
  }
  const stats = (values: number[]) => ({ p50: percentile(values, 50), p95: percentile(values, 95), max: Math.max(...values) });
  const rows: Array<[string, number[]]> = [
    ['back-channel: sign-out → refused', backchannel],
    ['  of which the provider’s POST', posts],
    [`refresh (interval ${PROPAGATION_REFRESH_INTERVAL_S} s): change → refused`, refresh],
    ['  the refusing request alone', refusingRequest],
  ];
  say(`${''.padEnd(44)}${pad('p50 ms', 9)}${pad('p95 ms', 9)}${pad('max ms', 9)}`);
  for (const [label, values] of rows) {
    const { p50, p95, max } = stats(values);
    say(`${label.padEnd(44)}${pad(fmt(p50), 9)}${pad(fmt(p95), 9)}${pad(fmt(max), 9)}`);
  }
  return {
    samples,
    refreshIntervalS: PROPAGATION_REFRESH_INTERVAL_S,
    backchannel: stats(backchannel),
    backchannelPost: stats(posts),
    refresh: stats(refresh),
    refusingRequest: stats(refusingRequest),
  };
}

// ---------------------------------------------------------------- scale helpers

/** Cursors of page 2000 (after the 39,980th user) in both orders, encoded as Gatehouse encodes them. */
async function pageCursors(url: string): Promise<Record<'DATE_JOINED_DESC' | 'USERNAME_ASC', string>> {
  return withClient(url, async (db) => {
    const desc = await db.query<{ joined: string; id: number }>(
      `select to_char(date_joined at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as joined, id from auth_user order by date_joined desc, id desc offset 39979 limit 1`,
    );
    const asc = await db.query<{ username: string }>('select username from auth_user order by username asc offset 39979 limit 1');
    const encode = (key: unknown[]) => Buffer.from(JSON.stringify(key)).toString('base64url');
    return {
      DATE_JOINED_DESC: encode(['DATE_JOINED_DESC', desc.rows[0].joined, desc.rows[0].id]),
      USERNAME_ASC: encode(['USERNAME_ASC', asc.rows[0].username]),
    };
  });
}

/**
 * previewGroupMappingRule over the 10,000 identities and 5,000 rules: how long one call takes,
 * and how long `/healthz` waits meanwhile (polled every 20 ms: the server's event-loop delay).
 * A call still running after BENCH_PREVIEW_TIMEOUT is abandoned and the server stopped.
 */
async function preview(server: ServerProcess, db: RunDatabase, token: string, s: Settings): Promise<Record<string, unknown>> {
  say(
    `\n== preview: previewGroupMappingRule with ${SCALE_SSO_PEOPLE.toLocaleString('en')} SSO identities and 5,000 rules (target ≤ 2 s, event-loop delay ≤ 50 ms)`,
  );
  const group = await withClient(db.url, (c) => c.query<{ id: number }>('select id from auth_group where name = $1', [groupName(1)]));
  const query = `{ previewGroupMappingRule(input: { groupId: "${group.rows[0].id}", matchType: GLOB, pattern: "B2E_SITE_1*" }) { userId username gained { name } lost { name } } }`;
  const calls = s.quick ? 1 : 2;
  const durations: number[] = [];
  const health: number[] = [];
  let timedOut = false;
  let impacts = 0;
  const cpuBefore = cpuMs(server.pid)!;
  for (let call = 0; call < calls && !timedOut; call++) {
    let running = true;
    const poll = (async () => {
      while (running) {
        const at = performance.now();
        await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(s.previewTimeout * 1000 + 5000) }).catch(() => undefined);
        health.push(performance.now() - at);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const started = performance.now();
    try {
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query }),
        signal: AbortSignal.timeout(s.previewTimeout * 1000),
      });
      const body = (await response.json()) as { data?: { previewGroupMappingRule: unknown[] }; errors?: unknown };
      if (!body.data) throw new Error(`preview failed: ${JSON.stringify(body.errors)}`);
      impacts = body.data.previewGroupMappingRule.length;
      durations.push(performance.now() - started);
    } catch (error) {
      if ((error as Error).name !== 'TimeoutError') throw error;
      timedOut = true;
      durations.push(performance.now() - started);
    }
    running = false;
    if (timedOut) await server.stop(); // still busy: nothing else can be measured on it
    await poll;
  }
  const cpu = timedOut ? NaN : (cpuMs(server.pid)! - cpuBefore) / calls;
  const result = {
    timedOut,
    seconds: durations.map((d) => d / 1000),
    impacts,
    healthzMaxMs: Math.max(...health),
    healthzP99Ms: percentile(health, 99),
    cpuMsPerCall: cpu,
  };
  say(
    `  ${timedOut ? `> ${s.previewTimeout} s (abandoned; the server was stopped)` : `${durations.map((d) => (d / 1000).toFixed(2)).join(' s, ')} s`} per call, ${impacts} users affected; ` +
      `/healthz while it ran: max ${fmt(result.healthzMaxMs, 0)} ms, p99 ${fmt(result.healthzP99Ms, 0)} ms; ${fmt(cpu, 0)} ms CPU per call`,
  );
  return result;
}

// ---------------------------------------------------------------- start-up

async function startup(s: Settings, db: RunDatabase): Promise<Record<string, unknown>> {
  say('\n== start-up (medians)');
  const help = async (args: string[]) => {
    const times: number[] = [];
    for (let i = 0; i < s.startRepeats; i++) {
      const at = performance.now();
      await execFileAsync(process.execPath, [path.join(ROOT, 'bin', 'gatehouse.js'), ...args], { cwd: ROOT });
      times.push(performance.now() - at);
    }
    return median(times);
  };
  const helps: Record<string, number> = { '--help': await help(['--help']) };
  for (const command of ['serve', 'migrate', 'makemigrations', 'seed', 'createsuperuser', 'check'])
    helps[`${command} --help`] = await help([command, '--help']);
  say(
    `  gatehouse --help: ${fmt(helps['--help'], 0)} ms; each command's --help: ${Object.entries(helps)
      .slice(1)
      .map(([k, v]) => `${k.split(' ')[0]} ${v.toFixed(0)}`)
      .join(', ')} ms (target ≤ 300 ms)`,
  );

  const starts: Array<{ ms: number; cpuMs: number; rssMb: number }> = [];
  for (let i = 0; i < s.startRepeats; i++) {
    const port = await freePort();
    const server = await startGatehouse('gatehouse (start-up)', port, {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: db.url,
      LOG_LEVEL: 'warn',
    });
    starts.push(server.started);
    await server.stop();
  }
  const ready = {
    ms: median(starts.map((x) => x.ms)),
    cpuMs: median(starts.map((x) => x.cpuMs)),
    rssMb: median(starts.map((x) => x.rssMb)),
  };
  say(
    `  start to /readyz on PostgreSQL: ${fmt(ready.ms, 0)} ms (${fmt(ready.cpuMs, 0)} ms CPU; RSS ${fmt(ready.rssMb, 0)} MB) (target ≤ 500 ms)`,
  );

  // The embedded database (PGlite), development mode as `npm start` on a fresh clone: the first
  // start creates the data directory; the floor is PGlite creating one alone.
  const dataDir = path.join(SCRATCH, `embedded-${Date.now()}`);
  mkdirSync(SCRATCH, { recursive: true });
  const embedded: Record<string, number> = {};
  try {
    for (const label of ['first start', 'second start']) {
      const port = await freePort();
      const server = await startGatehouse('gatehouse (embedded)', port, {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'development',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
      });
      embedded[label] = server.started.ms;
      await server.stop();
    }
    const at = performance.now();
    await execFileAsync(
      process.execPath,
      [
        '-e',
        "import('@electric-sql/pglite').then(async ({ PGlite }) => { const db = await PGlite.create({ dataDir: process.argv[1] }); await db.close(); })",
        `${dataDir}-pglite-alone`,
      ],
      { cwd: ROOT },
    );
    embedded['PGlite alone'] = performance.now() - at;
  } finally {
    execFileSync('rm', ['-rf', dataDir, `${dataDir}.lock`, `${dataDir}-pglite-alone`]);
  }
  say(
    `  embedded database (PGlite), development: first start ${fmt(embedded['first start'] / 1000, 2)} s, second ${fmt(embedded['second start'] / 1000, 2)} s; ` +
      `PGlite creating a data directory alone: ${fmt(embedded['PGlite alone'] / 1000, 2)} s`,
  );
  return { help: helps, ready, embedded };
}
