import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePortPair } from './ports';

const ROOT = path.resolve(__dirname, '..', '..');

/** The real service in a child process, started exactly as `npm start` starts it. */
export interface GatehouseProcess {
  readonly port: number;
  /** Where the service listens (what fetch reaches). */
  readonly url: string;
  /** The development IdP's issuer: `http://127.0.0.1:<port + 1>`. */
  readonly idpUrl: string;
  readonly pid: number;
  /** Everything the child wrote to stdout and stderr so far. */
  output(): string;
  /** What the child wrote to stdout so far. */
  stdout(): string;
  /** What the child wrote to stderr so far. */
  stderr(): string;
  /** Sends SIGTERM and resolves with how the child exited (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `node bin/gatehouse.js serve` (the `npm start` script) with only the environment given
 * here plus PATH and HOME — no OIDC_* variable, no PUBLIC_URL — and resolves once `/readyz`
 * answers 200. Rejects with the child's output if it exits first or is not ready in `readyTimeoutMs`.
 */
export async function startGatehouseProcess(env: Record<string, string>, readyTimeoutMs = 20000): Promise<GatehouseProcess> {
  const port = await freePortPair();
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'bin', 'gatehouse.js'), 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? ROOT, PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stdout += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (hasExited) throw new Error(`gatehouse serve exited before it was ready:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gatehouse serve was not ready within ${readyTimeoutMs} ms:\n${output}`);
    }
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    port,
    url,
    idpUrl: `http://127.0.0.1:${port + 1}`,
    pid: child.pid!,
    output: () => output,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(timeoutMs = 10000) {
      if (!hasExited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
