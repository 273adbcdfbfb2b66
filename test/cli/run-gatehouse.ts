import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';

export const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'gatehouse.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment a person at a shell would have: none of the Gatehouse variables that jest or
 * the developer's shell may carry, plus `env`.
 */
export function cliEnv(env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const name of Object.keys(base)) {
    if (
      /^(OIDC_|SSO_|SESSION_|DATABASE_)/.test(name) ||
      ['NODE_ENV', 'LOG_LEVEL', 'DATA_DIR', 'PORT', 'HOST', 'PUBLIC_URL', 'GATEHOUSE_SUPERUSER_PASSWORD'].includes(name)
    )
      delete base[name];
  }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return base;
}

/** Starts `node bin/gatehouse.js <args>` in the project directory. */
export function spawnGatehouse(args: string[], env: Record<string, string | undefined> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cliEnv(env) });
}

/** Runs `gatehouse <args>` to completion; stdin is closed (not a terminal). */
export function gatehouse(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return collect(spawnGatehouse(args, env));
}

/** Waits for a child to exit, with everything it wrote. */
export function collect(child: ChildProcessWithoutNullStreams): Promise<CliResult> {
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A line for the operator: exactly one, with no stack trace. */
export function expectOneLine(text: string): string {
  const lines = text.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(text).not.toMatch(/^\s+at /m);
  return lines[0];
}

/** Runs `sql` on the database at `url` with a client of its own. */
export async function query<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}
