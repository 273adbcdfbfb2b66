import { z } from 'zod';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
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

/** How Gatehouse authenticates to the provider's token endpoint (OIDC Core §9). */
export const TOKEN_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
export type TokenAuthMethod = (typeof TOKEN_AUTH_METHODS)[number];

/**
 * 32 bytes (AES-256), written as 64 hex digits or as base64/base64url (43 or 44 characters), as
 * `openssl rand -base64 32` prints them.
 */
export function decodeEncryptionKey(value: string): Buffer | null {
  const text = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return null;
  const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return key.length === 32 ? key : null;
}

const encryptionKey = z
  .string()
  .refine(
    (value) => decodeEncryptionKey(value) !== null,
    'expected 32 random bytes as base64 or 64 hex digits, e.g. from `openssl rand -base64 32`',
  );

const PRIVATE_KEY_EXPECTED = 'expected a PEM private key (RSA of 2048 bits or more, EC P-256/P-384/P-521 or Ed25519)';

/** The client's private key for private_key_jwt, when it is one Gatehouse can sign with; else null. */
export function parseClientPrivateKey(pem: string): KeyObject | null {
  try {
    const key = createPrivateKey(pem.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem);
    if (key.asymmetricKeyType === 'rsa') return (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 ? key : null;
    if (key.asymmetricKeyType === 'ec')
      return ['prime256v1', 'secp384r1', 'secp521r1'].includes(key.asymmetricKeyDetails?.namedCurve ?? '') ? key : null;
    return key.asymmetricKeyType === 'ed25519' ? key : null;
  } catch {
    return null;
  }
}

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
  AUDIT_SIGNIN_RETENTION_DAYS: wholeNumber(1, 36500, 'expected a whole number of days from 1 to 36500, e.g. 90').default(90),
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
  OIDC_GROUPS_CLAIM_ALLOW_STRING: flag('expected true or false').default(false),
  OIDC_CLOCK_TOLERANCE: wholeNumber(0, 300, 'expected a whole number of seconds from 0 to 300').default(30),
  SSO_REQUIRE_MAPPED_GROUP: flag('expected true or false').default(true),
  OIDC_TOKEN_AUTH_METHOD: z.enum(TOKEN_AUTH_METHODS, { error: `expected one of ${TOKEN_AUTH_METHODS.join(', ')}` }).optional(),
  OIDC_CLIENT_PRIVATE_KEY: z
    .string()
    .refine((value) => parseClientPrivateKey(value) !== null, PRIVATE_KEY_EXPECTED)
    .optional(),
  OIDC_CLIENT_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  OIDC_CLIENT_KEY_ID: z
    .string()
    .regex(/^[\x21-\x7e]{1,128}$/, 'expected a key ID of up to 128 printable characters without spaces')
    .optional(),
  OIDC_TRUST_EMAIL: flag('expected true or false').default(false),
  SESSION_ENCRYPTION_KEY: encryptionKey.optional(),
  SSO_REFRESH_INTERVAL: seconds.default(900),
  SSO_REFRESH_GRACE: seconds.default(3600),
  SSO_LINK_BY_EMAIL: flag('expected true or false').default(false),
  GRAPHQL_EXPLORER: z.enum(GRAPHQL_EXPLORERS, { error: 'expected sandbox, graphiql or none' }).optional(),
  METRICS_TOKEN: z
    .string()
    .regex(/^[\x21-\x7e]{16,256}$/, 'expected a secret of 16 to 256 printable characters without spaces, e.g. from `openssl rand -hex 32`')
    .optional(),
  METRICS_PORT: wholeNumber(0, 65535, 'expected a port number from 0 to 65535').optional(),
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
  if (
    parsed.success &&
    parsed.data.METRICS_PORT !== undefined &&
    parsed.data.METRICS_PORT !== 0 &&
    parsed.data.METRICS_PORT === parsed.data.PORT
  )
    problems.push('METRICS_PORT: expected a port other than PORT (or unset to serve /metrics on PORT with METRICS_TOKEN)');
  const privateKey = readPrivateKey(input, problems);
  problems.push(...clientAuthenticationProblems(input, privateKey !== undefined));
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const config = parsed.data;
  return {
    ...config,
    OIDC_CLIENT_PRIVATE_KEY: privateKey,
    PUBLIC_URL: (config.PUBLIC_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, ''),
    GRAPHQL_EXPLORER: config.GRAPHQL_EXPLORER ?? (config.NODE_ENV === 'production' ? 'none' : 'sandbox'),
  };
}

/** The PEM of OIDC_CLIENT_PRIVATE_KEY, or of the file OIDC_CLIENT_PRIVATE_KEY_FILE names (never both). */
function readPrivateKey(input: Record<string, string>, problems: string[]): string | undefined {
  const file = input.OIDC_CLIENT_PRIVATE_KEY_FILE;
  if (file === undefined) return input.OIDC_CLIENT_PRIVATE_KEY?.replace(/\\n/g, '\n');
  if (input.OIDC_CLIENT_PRIVATE_KEY !== undefined) {
    problems.push('OIDC_CLIENT_PRIVATE_KEY_FILE: set either OIDC_CLIENT_PRIVATE_KEY or OIDC_CLIENT_PRIVATE_KEY_FILE, not both');
    return undefined;
  }
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(`OIDC_CLIENT_PRIVATE_KEY_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
  if (parseClientPrivateKey(pem) === null) {
    problems.push(`OIDC_CLIENT_PRIVATE_KEY_FILE: ${file}: ${PRIVATE_KEY_EXPECTED}`);
    return undefined;
  }
  return pem;
}

/**
 * What the token endpoint's client authentication needs: a secret for client_secret_basic and
 * client_secret_post, a private key for private_key_jwt, nothing for a public client (none). With
 * OIDC_TOKEN_AUTH_METHOD unset, a secret or a key must be there to choose from.
 */
function clientAuthenticationProblems(input: Record<string, string>, hasKey: boolean): string[] {
  const problems: string[] = [];
  const method = input.OIDC_TOKEN_AUTH_METHOD;
  const hasSecret = input.OIDC_CLIENT_SECRET !== undefined;
  if (input.OIDC_ISSUER !== undefined) {
    if (input.OIDC_CLIENT_ID === undefined) problems.push('OIDC_CLIENT_ID: required when OIDC_ISSUER is set');
    if (!hasSecret && (method === undefined ? !hasKey : method.startsWith('client_secret_')))
      problems.push(
        'OIDC_CLIENT_SECRET: required when OIDC_ISSUER is set (unless OIDC_TOKEN_AUTH_METHOD is private_key_jwt, with a key, or none)',
      );
  }
  if (
    method === 'private_key_jwt' &&
    !hasKey &&
    input.OIDC_CLIENT_PRIVATE_KEY_FILE === undefined &&
    input.OIDC_CLIENT_PRIVATE_KEY === undefined
  )
    problems.push('OIDC_CLIENT_PRIVATE_KEY: required when OIDC_TOKEN_AUTH_METHOD is private_key_jwt (or OIDC_CLIENT_PRIVATE_KEY_FILE)');
  return problems;
}

/** `DATABASE_URL` without its password, even when it does not parse as a URL; never the client secret. */
function redact(name: string, value: string): string {
  if (['OIDC_CLIENT_SECRET', 'OIDC_CLIENT_PRIVATE_KEY', 'SESSION_ENCRYPTION_KEY', 'METRICS_TOKEN'].includes(name)) return '***';
  if (name !== 'DATABASE_URL') return value;
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return value.replace(/(\/\/[^:/@\s]*:)[^@\s]*@/, '$1***@');
  }
}
