/**
 * `gatehouse serve` stops cleanly on SIGTERM and SIGINT whether the signal reaches the node
 * process itself (docker-compose runs it directly) or `npm start`'s npm process (a terminal, a
 * process manager, `kill <pid of npm>`): the server closes, its port is free again, and no
 * process is left behind. A regression: SIGTERM to `npm start` used to leave the server running,
 * orphaned, because the shell npm puts between itself and node died of the signal without
 * passing it on.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createEmptyDatabase } from '../support/database';
import { freePort } from '../support/ports';
import { cliEnv, ROOT, spawnGatehouse } from './run-gatehouse';

/** Whether a server can listen on `port` again. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `pid` and every process below it. */
function processTree(pid: number): number[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number));
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [child, parent] of rows) if (parent === tree[i]) tree.push(child);
  return tree;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

// Each test starts a service and waits for its stop: on a loaded two-core machine that takes seconds.
// A new embedded database takes PGlite several seconds to create, many more on a loaded machine.
jest.setTimeout(150_000);

const START = {
  // detached: a process group of its own, as a terminal gives a foreground job.
  'npm start': (env: Record<string, string>) =>
    spawn('npm', ['start'], { cwd: ROOT, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true }),
  'node bin/gatehouse.js serve': (env: Record<string, string>) => spawnGatehouse(['serve'], env),
};

/** Waits for `promise` at most `ms`; then resolves with 'still running'. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'still running'> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), ms))),
  ]).finally(() => clearTimeout(timer));
}

interface StopOptions {
  /** Stop the moment a line of stdout matches, instead of once the service is ready. */
  at?: RegExp;
  /** Run on a new embedded database in this directory instead of a new empty PostgreSQL database. */
  embeddedDataDir?: string;
}

/**
 * Starts the service as `how` on a new empty database and a free port, calls `stop(child)` once
 * it is ready (or as `options.at` says), and checks that it exits 0 having logged "stopped",
 * that neither it nor any process below it is left, and that the port can be listened on again.
 */
async function expectCleanStop(
  how: keyof typeof START,
  stop: (child: ChildProcess, port: number) => void,
  options: StopOptions = {},
): Promise<string> {
  const { at, embeddedDataDir } = options;
  const db = embeddedDataDir ? null : await createEmptyDatabase();
  const port = await freePort();
  const database: Record<string, string> = db ? { DATABASE_URL: db.url } : { DATA_DIR: embeddedDataDir! };
  const child = START[how]({ NODE_ENV: 'test', HOST: '127.0.0.1', PORT: String(port), ...database });
  let stdout = '';
  let stderr = '';
  let stopped = false;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (at && !stopped && at.test(stdout)) {
      stopped = true;
      stop(child, port);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let tree: number[] = [child.pid!];
  try {
    const reached = await until(async () => {
      if (at) return stopped;
      tree = processTree(child.pid!);
      return fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
    }, 90_000);
    expect({ reached, output: reached ? '' : stdout + stderr }).toEqual({ reached: true, output: '' });
    if (!at) stop(child, port);

    expect(await within(exited, 15000)).toEqual({ code: 0, signal: null });
    expect(await until(() => tree.every((pid) => !isRunning(pid)), 5000)).toBe(true);
    expect(await until(() => portIsFree(port), 5000)).toBe(true);
    expect(stdout).toContain('"msg":"stopped"');
    expect(stdout).not.toMatch(/"level":(50|60)/);
    return stdout;
  } finally {
    // Whatever outlived the signal (the regression) is ended here, by pid.
    for (const pid of tree) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    await db?.drop();
  }
}

describe('gatehouse serve on an empty PostgreSQL database, stopped by a signal', () => {
  it.each([
    ['npm start', 'SIGTERM'],
    ['npm start', 'SIGINT'],
    ['node bin/gatehouse.js serve', 'SIGTERM'],
    ['node bin/gatehouse.js serve', 'SIGINT'],
  ] as const)('%s: %s to that process stops the server, frees its port and leaves no process behind', async (how, signal) => {
    await expectCleanStop(how, (child) => process.kill(child.pid!, signal));
  });

  it('npm start: Ctrl-C in a terminal (SIGINT to the whole process group: from the terminal and from npm) stops cleanly', async () => {
    await expectCleanStop('npm start', (child) => process.kill(-child.pid!, 'SIGINT'));
  });

  it('a second signal while stopping (Ctrl-C heard twice under npm) does not cut the stop short', async () => {
    let request: Socket | undefined;
    const body = '{"query":"{ __typename }"}';
    const stdout = await expectCleanStop('node bin/gatehouse.js serve', (child, port) => {
      // A request still arriving holds the stop open (the HTTP server drains requests in
      // flight), which leaves time for the second signal; then the request completes.
      request = connect(port, '127.0.0.1', () => {
        request!.write(
          `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 9)}`,
        );
        setTimeout(() => process.kill(child.pid!, 'SIGINT'), 200);
      });
      child.stdout!.on('data', (chunk: string) => {
        if (chunk.includes('"msg":"shutting down"')) process.kill(child.pid!, 'SIGINT');
        if (chunk.includes('"msg":"already shutting down"')) request!.end(body.slice(9));
      });
    });
    expect(stdout.match(/"msg":"shutting down"/g)).toHaveLength(1);
    expect(stdout).toContain('"msg":"already shutting down"');
    request?.destroy();
  });

  it('a signal during start-up (here: while migrating a new embedded database) stops the service once it is up', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-signal-'));
    try {
      const stdout = await expectCleanStop('node bin/gatehouse.js serve', (child) => process.kill(child.pid!, 'SIGTERM'), {
        at: /"msg":"using the embedded database/,
        embeddedDataDir: dataDir,
      });
      const order = ['"msg":"shutting down"', '"msg":"Gatehouse is ready"', '"msg":"stopped"'].map((line) => stdout.indexOf(line));
      expect(order.every((index) => index >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      // The embedded database's lock is released.
      expect(fs.existsSync(path.join(dataDir, 'pglite.lock'))).toBe(false);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
