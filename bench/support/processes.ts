/** The servers under test, each started in a process of its own (so /proc tells its cost alone). */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { cpuMs, memory } from './proc';

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  /** What the process printed on stdout when it was ready (JSON), if anything. */
  readonly info: Record<string, unknown>;
  /** From spawn to ready: wall ms, CPU ms, RSS MB. */
  readonly started: { ms: number; cpuMs: number; rssMb: number };
  output(): string;
  alive(): boolean;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** How readiness shows: a JSON line `{"ready":true,"port":…}` on stdout, or 200 from `url + path`. */
  ready: { json: true } | { url: string; path: string };
  timeoutMs?: number;
}

/** A port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `node <args>` and resolves once it is ready; rejects with its output if it exits or times out first. */
export async function startServer(options: StartOptions): Promise<ServerProcess> {
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let info: Record<string, unknown> | null = null;
  let exited = false;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output = (output + chunk).slice(-200_000);
    if (!info && 'json' in options.ready) {
      for (const line of output.split('\n')) {
        if (!line.startsWith('{"ready":true')) continue;
        info = JSON.parse(line) as Record<string, unknown>;
        break;
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-200_000)));
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let url = '';
  for (;;) {
    if (exited) throw new Error(`${options.name} exited before it was ready:\n${output.slice(-4000)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} was not ready in time:\n${output.slice(-4000)}`);
    }
    if ('json' in options.ready) {
      if (info) {
        url = `http://127.0.0.1:${(info as { port: number }).port}`;
        break;
      }
    } else {
      const ok = await fetch(options.ready.url + options.ready.path).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) {
        url = options.ready.url;
        break;
      }
    }
    await sleep(5);
  }
  const ms = performance.now() - started;
  const pid = child.pid!;
  return {
    name: options.name,
    pid,
    url,
    info: info ?? {},
    started: { ms, cpuMs: cpuMs(pid) ?? NaN, rssMb: memory(pid).rss },
    output: () => output,
    alive: () => !exited,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
