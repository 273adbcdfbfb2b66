import { z } from 'zod';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import type { CheckId } from '../checks';

/**
 * The project root (the nearest folder above this file with a package.json): the embedded
 * database and the migrations live beneath it. This file runs from `src/config/` under the
 * tests and from the compiled build, `dist/<digest>/src/config/`, otherwise.
 */
export const PROJECT_ROOT = (() => {
  for (let dir = path.resolve(__dirname, '..'); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(__dirname, '..', '..');
  }
})();

const postgresUrl = z.string().refine((value) => {
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

/** Hosts on which an `http://` identity provider is accepted (development and tests only). */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '[::1]', 'localhost']);

const issuerUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    if (url.search || url.hash || url.username || url.password) return false;
    return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
  } catch {
    return false;
  }
}, "expected the provider's https issuer URL, e.g. https://example.eu.auth0.com/ (http only on 127.0.0.1, ::1 or localhost)");

const flag = (expected: string) =>
  z
    .string()
    .transform((value) => value.trim().toLowerCase())
    .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: expected }))
    .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** Asymmetric JWS algorithms only: `none` and the HMAC family (keyed with the client secret) are refused. */
export const SIGNING_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/**
 * What a browser gets at `GET /graphql`: Apollo Sandbox (loaded from Apollo's servers), a
 * redirect to the GraphiQL that Gatehouse serves itself at `/graphiql` (works offline), or
 * nothing. `/graphiql` is served unless `none`.
 */
export const GRAPHQL_EXPLORERS = ['sandbox', 'graphiql', 'none'] as const;
export type GraphqlExplorer = (typeof GRAPHQL_EXPLORERS)[number];

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], { error: 'expected development, production or test' }).default('development'),
  HOST: z.string().min(1, 'expected a host name or address to listen on, e.g. 127.0.0.1 or 0.0.0.0').default('127.0.0.1'),
  PORT: wholeNumber(0, 65535, 'expected a port number from 0 to 65535').default(4000),
  TRUST_PROXY: z
    .string()
    .refine(
      isTrustProxySetting,
      'expected false, a number of proxy hops (1-99), or a comma-separated list of proxy addresses/CIDRs (loopback, uniquelocal, 10.0.0.0/8)',
    )
    .default('false'),
  PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as https://gatehouse.example.com' }).optional(),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_MAX: wholeNumber(1, 100, 'expected a whole number from 1 to 100').default(10),
  DATA_DIR: z.string().min(1, 'expected a directory path').default(path.join(PROJECT_ROOT, '.data')),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'expected fatal, error, warn, info, debug, trace or silent',
    })
    .default('info'),
  SESSION_IDLE_TIMEOUT: seconds.default(2 * 60 * 60),
  SESSION_ABSOLUTE_TIMEOUT: seconds.default(7 * 24 * 60 * 60),
  OIDC_ISSUER: issuerUrl.optional(),
  OIDC_CLIENT_ID: z.string().min(1, 'expected the client ID registered at the identity provider').optional(),
  OIDC_CLIENT_SECRET: z.string().min(1, 'expected the client secret registered at the identity provider').optional(),
  OIDC_SCOPES: z
    .string()
    .refine(
      (value) => value.split(/\s+/).includes('openid'),
      'expected space-separated scopes including openid, e.g. "openid profile email"',
    )
    .default('openid profile email'),
  OIDC_GROUPS_CLAIM: z.string().min(1, 'expected a claim name or dotted path, e.g. groups or realm_access.roles').default('groups'),
  OIDC_USE_USERINFO: flag('expected true or false').default(false),
  OIDC_ID_TOKEN_ALG: z.enum(SIGNING_ALGORITHMS, { error: `expected one of ${SIGNING_ALGORITHMS.join(', ')}` }).default('RS256'),
  OIDC_API_AUDIENCE: z
    .string()
    .min(1, 'expected the API identifier (audience) of access tokens, e.g. https://gatehouse.example.com/api')
    .optional(),
  OIDC_HTTP_TIMEOUT: wholeNumber(1, 120, 'expected a whole number of seconds from 1 to 120').default(10),
  SSO_REQUIRE_MAPPED_GROUP: flag('expected true or false').default(true),
  GRAPHQL_EXPLORER: z.enum(GRAPHQL_EXPLORERS, { error: 'expected sandbox, graphiql or none' }).optional(),
});

/** Express's `trust proxy` values that Gatehouse accepts: false, 1-99 hops, or named ranges, addresses and CIDRs. */
function isTrustProxySetting(value: string): boolean {
  if (value === 'false' || /^[1-9][0-9]?$/.test(value)) return true;
  return value.split(',').every((entry) => {
    const [address, prefix, extra] = entry.trim().split('/');
    if (extra !== undefined) return false;
    if (['loopback', 'linklocal', 'uniquelocal'].includes(address)) return prefix === undefined;
    const family = isIP(address);
    if (family === 0) return false;
    return prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
  });
}

export type Config = Omit<z.infer<typeof schema>, 'GRAPHQL_EXPLORER'> & { PUBLIC_URL: string; GRAPHQL_EXPLORER: GraphqlExplorer };

/**
 * A configuration value that cannot be used (system check `gatehouse.config.E001`): the
 * message starts with the id and names each variable and what is expected.
 */
export class ConfigError extends Error {
  readonly id: CheckId = 'gatehouse.config.E001';
  constructor(readonly problems: string[]) {
    super(`[gatehouse.config.E001] invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads and validates the configuration from `env`. Empty (or blank) strings count as unset,
 * so a `.env` line `DATABASE_URL=` selects the default.
 *
 * @throws ConfigError naming every invalid variable on one line, e.g.
 *   `[gatehouse.config.E001] invalid configuration: PORT: expected a port number from 0 to 65535 (got "http")`.
 *   A password in `DATABASE_URL` is never repeated.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1].trim() !== ''),
  );
  const parsed = schema.safeParse(input);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        const got = input[name];
        return `${name}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(redact(name, got))})`}`;
      });
  if (input.NODE_ENV === 'production' && input.DATABASE_URL === undefined) {
    problems.push('DATABASE_URL: required in production (the embedded database is for development)');
  }
  if (input.OIDC_ISSUER !== undefined) {
    for (const name of ['OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET'] as const) {
      if (input[name] === undefined) problems.push(`${name}: required when OIDC_ISSUER is set`);
    }
  }
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const config = parsed.data;
  return {
    ...config,
    PUBLIC_URL: (config.PUBLIC_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, ''),
    GRAPHQL_EXPLORER: config.GRAPHQL_EXPLORER ?? (config.NODE_ENV === 'production' ? 'none' : 'sandbox'),
  };
}

/** `DATABASE_URL` without its password, even when it does not parse as a URL; never the client secret. */
function redact(name: string, value: string): string {
  if (name === 'OIDC_CLIENT_SECRET') return '***';
  if (name !== 'DATABASE_URL') return value;
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return value.replace(/(\/\/[^:/@\s]*:)[^@\s]*@/, '$1***@');
  }
}
