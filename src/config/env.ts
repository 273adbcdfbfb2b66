import { z } from 'zod';
import path from 'node:path';

/** The project root: the embedded database and the migrations live beneath it. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

const postgresUrl = z
  .string()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '' && url.pathname.length > 1;
    } catch {
      return false;
    }
  }, 'expected postgres://user:password@host:5432/database');

/**
 * A whole number written in decimal digits, within `min`..`max`. Stricter than `Number()`,
 * which would read "0x10" as 16, "1e3" as 1000 and " " as 0.
 */
const wholeNumber = (min: number, max: number, expected: string) =>
  z
    .string({ error: expected })
    .regex(/^\s*-?\d+\s*$/, expected)
    .transform(Number)
    .pipe(z.number().min(min, expected).max(max, expected));

const seconds = wholeNumber(1, 10 * 365 * 24 * 60 * 60, 'expected a positive whole number of seconds, e.g. 7200');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], { error: 'expected development, production or test' }).default('development'),
  HOST: z.string().min(1, 'expected a host name or address to listen on, e.g. 127.0.0.1 or 0.0.0.0').default('127.0.0.1'),
  PORT: wholeNumber(0, 65535, 'expected a port number from 0 to 65535').default(4000),
  PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as https://gatehouse.example.com' }).optional(),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_MAX: wholeNumber(1, 100, 'expected a whole number from 1 to 100').default(10),
  DATA_DIR: z.string().min(1, 'expected a directory path').default(path.join(PROJECT_ROOT, '.data')),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'expected fatal, error, warn, info, debug, trace or silent' }).default('info'),
  SESSION_IDLE_TIMEOUT: seconds.default(2 * 60 * 60),
  SESSION_ABSOLUTE_TIMEOUT: seconds.default(7 * 24 * 60 * 60),
});

export type Config = z.infer<typeof schema> & { PUBLIC_URL: string };

/** A configuration value that cannot be used; the message names the variable and what is expected. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Reads and validates the configuration from `env`. Empty strings count as unset, so a
 * `.env` line `DATABASE_URL=` selects the default.
 *
 * @throws ConfigError naming every invalid variable, e.g. `PORT: expected a port number (got "http")`.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const got = input[name];
      return `${name}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(redact(name, got))})`}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const config = parsed.data;
  return { ...config, PUBLIC_URL: (config.PUBLIC_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, '') };
}

function redact(name: string, value: string): string {
  if (name !== 'DATABASE_URL') return value;
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return value;
  }
}
