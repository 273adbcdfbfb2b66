import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client } from 'pg';

export const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'gatehouse.js');
const ADMIN_URL = () => process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

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

/** A PostgreSQL database with nothing in it (not even the migrations table). */
export async function createEmptyDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `gatehouse_t_${Date.now()}_${randomBytes(4).toString('hex')}_empty`;
  const admin = async (sql: string) => {
    const client = new Client({ connectionString: ADMIN_URL() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`create database "${name}"`);
  const url = new URL(ADMIN_URL());
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`drop database if exists "${name}" with (force)`) };
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
