import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, decodeEncryptionKey, loadConfig } from '../../src/config/env';
import { providerFromEnv, ssoSettings } from '../../src/sso/settings';

const CLIENT = { OIDC_CLIENT_ID: 'gatehouse', OIDC_CLIENT_SECRET: 's3cret-value' };

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig: single sign-on variables', () => {
  it('has safe defaults: SSO off, openid profile email, groups, RS256, no bearer audience, mapped group required, 10 s timeout', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      OIDC_SCOPES: 'openid profile email',
      OIDC_GROUPS_CLAIM: 'groups',
      OIDC_USE_USERINFO: false,
      OIDC_ID_TOKEN_ALG: 'RS256',
      SSO_REQUIRE_MAPPED_GROUP: true,
      OIDC_HTTP_TIMEOUT: 10,
    });
    expect(config.OIDC_ISSUER).toBeUndefined();
    expect(config.OIDC_API_AUDIENCE).toBeUndefined();
    expect(providerFromEnv(config)).toBeNull();
  });

  it.each(['https://example.eu.auth0.com/', 'http://127.0.0.1:9000', 'http://localhost:9000/realms/x', 'http://[::1]:9000'])(
    'accepts the issuer %s',
    (issuer) => {
      expect(loadConfig({ OIDC_ISSUER: issuer, ...CLIENT }).OIDC_ISSUER).toBe(issuer);
    },
  );

  it.each(['http://idp.example.com', 'http://10.0.0.5', 'ftp://idp.example.com', 'not a url', 'https://idp.example.com/?x=1'])(
    'refuses the issuer %s, naming the variable',
    (issuer) => {
      expect(refusal({ OIDC_ISSUER: issuer, ...CLIENT })).toMatch(/OIDC_ISSUER: expected the provider's https issuer URL/);
    },
  );

  it('requires the client ID and secret with an issuer', () => {
    expect(refusal({ OIDC_ISSUER: 'https://idp.example.com' })).toMatch(
      /OIDC_CLIENT_ID: required when OIDC_ISSUER is set; OIDC_CLIENT_SECRET: required/,
    );
  });

  it('refuses none and HMAC as the ID token algorithm', () => {
    expect(refusal({ OIDC_ID_TOKEN_ALG: 'none' })).toMatch(/OIDC_ID_TOKEN_ALG: expected one of RS256/);
    expect(refusal({ OIDC_ID_TOKEN_ALG: 'HS256' })).toMatch(/OIDC_ID_TOKEN_ALG/);
  });

  it('reads flags and refuses what is not one, naming the variable', () => {
    expect(loadConfig({ OIDC_USE_USERINFO: 'TRUE', SSO_REQUIRE_MAPPED_GROUP: 'no' })).toMatchObject({
      OIDC_USE_USERINFO: true,
      SSO_REQUIRE_MAPPED_GROUP: false,
    });
    expect(refusal({ SSO_REQUIRE_MAPPED_GROUP: 'maybe' })).toMatch(/SSO_REQUIRE_MAPPED_GROUP: expected true or false/);
  });

  it('refuses scopes without openid and a timeout out of range', () => {
    expect(refusal({ OIDC_SCOPES: 'profile email' })).toMatch(/OIDC_SCOPES: expected space-separated scopes including openid/);
    expect(refusal({ OIDC_HTTP_TIMEOUT: '0' })).toMatch(/OIDC_HTTP_TIMEOUT/);
  });

  it('never repeats the client secret in an error', () => {
    expect(
      refusal({ OIDC_ISSUER: 'https://idp.example.com', OIDC_CLIENT_ID: 'x', OIDC_CLIENT_SECRET: 'the-secret', OIDC_HTTP_TIMEOUT: 'x' }),
    ).not.toContain('the-secret');
  });

  it('builds the settings from the environment, the redirect URI from PUBLIC_URL', () => {
    const config = loadConfig({
      OIDC_ISSUER: 'https://idp.example.com',
      ...CLIENT,
      PUBLIC_URL: 'https://gatehouse.example.com/',
      OIDC_API_AUDIENCE: 'https://api',
    });
    expect(ssoSettings(config, providerFromEnv(config)!)).toMatchObject({
      issuer: 'https://idp.example.com',
      clientId: 'gatehouse',
      publicUrl: 'https://gatehouse.example.com',
      apiAudience: 'https://api',
    });
  });
});

describe('loadConfig: the identity lifecycle variables', () => {
  const ISSUER = { OIDC_ISSUER: 'https://idp.example.com', OIDC_CLIENT_ID: 'gatehouse' };
  const pem = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

  it('defaults: refresh every 900 s with a grace of 3600 s, e-mails trusted only when verified, the method chosen from the provider', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ SSO_REFRESH_INTERVAL: 900, SSO_REFRESH_GRACE: 3600, OIDC_TRUST_EMAIL: false });
    expect(config.OIDC_TOKEN_AUTH_METHOD).toBeUndefined();
    expect(config.SESSION_ENCRYPTION_KEY).toBeUndefined();
    expect(
      ssoSettings(loadConfig({ ...ISSUER, OIDC_CLIENT_SECRET: 's' }), providerFromEnv(loadConfig({ ...ISSUER, OIDC_CLIENT_SECRET: 's' }))!),
    ).toMatchObject({
      tokenAuthMethod: null,
      trustEmail: false,
      refreshInterval: 900,
      refreshGrace: 3600,
    });
  });

  it.each(['client_secret_basic', 'client_secret_post'])('%s requires the client secret', (method) => {
    expect(refusal({ ...ISSUER, OIDC_TOKEN_AUTH_METHOD: method })).toMatch(/OIDC_CLIENT_SECRET: required when OIDC_ISSUER is set/);
  });

  it('accepts a public client (none) without a secret, and private_key_jwt with a key instead of one', () => {
    expect(loadConfig({ ...ISSUER, OIDC_TOKEN_AUTH_METHOD: 'none' }).OIDC_TOKEN_AUTH_METHOD).toBe('none');
    const key = pem();
    expect(loadConfig({ ...ISSUER, OIDC_TOKEN_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_PRIVATE_KEY: key }).OIDC_CLIENT_PRIVATE_KEY).toBe(
      key,
    );
    // A key alone (method unset) is enough too; written on one line with \n, it is read back with newlines.
    expect(loadConfig({ ...ISSUER, OIDC_CLIENT_PRIVATE_KEY: key.replace(/\n/g, '\\n') }).OIDC_CLIENT_PRIVATE_KEY).toBe(key);
  });

  it('refuses private_key_jwt without a key, an unknown method, and a key that is not a usable private key — never repeating it', () => {
    expect(refusal({ ...ISSUER, OIDC_CLIENT_SECRET: 's', OIDC_TOKEN_AUTH_METHOD: 'private_key_jwt' })).toMatch(
      /OIDC_CLIENT_PRIVATE_KEY: required when OIDC_TOKEN_AUTH_METHOD is private_key_jwt/,
    );
    expect(refusal({ OIDC_TOKEN_AUTH_METHOD: 'client_secret_jwt' })).toMatch(
      /OIDC_TOKEN_AUTH_METHOD: expected one of client_secret_basic, client_secret_post, private_key_jwt, none/,
    );
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    for (const bad of ['-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----', small]) {
      const message = refusal({ OIDC_CLIENT_PRIVATE_KEY: bad });
      expect(message).toMatch(
        /OIDC_CLIENT_PRIVATE_KEY: expected a PEM private key \(RSA of 2048 bits or more, EC P-256\/P-384\/P-521 or Ed25519\) \(got "\*\*\*"\)/,
      );
      expect(message).not.toContain('not a key');
    }
  });

  it('reads the key from OIDC_CLIENT_PRIVATE_KEY_FILE, and says which file it cannot read or use', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-config-'));
    const good = path.join(dir, 'key.pem');
    const bad = path.join(dir, 'bad.pem');
    const key = pem();
    writeFileSync(good, key);
    writeFileSync(bad, 'nope');
    expect(loadConfig({ ...ISSUER, OIDC_CLIENT_PRIVATE_KEY_FILE: good }).OIDC_CLIENT_PRIVATE_KEY).toBe(key);
    expect(refusal({ OIDC_CLIENT_PRIVATE_KEY_FILE: path.join(dir, 'missing.pem') })).toMatch(
      /OIDC_CLIENT_PRIVATE_KEY_FILE: cannot read .*missing\.pem \(ENOENT\)/,
    );
    expect(refusal({ OIDC_CLIENT_PRIVATE_KEY_FILE: bad })).toMatch(/OIDC_CLIENT_PRIVATE_KEY_FILE: .*bad\.pem: expected a PEM private key/);
    expect(refusal({ OIDC_CLIENT_PRIVATE_KEY_FILE: good, OIDC_CLIENT_PRIVATE_KEY: key })).toMatch(
      /set either OIDC_CLIENT_PRIVATE_KEY or OIDC_CLIENT_PRIVATE_KEY_FILE, not both/,
    );
  });

  it('takes SESSION_ENCRYPTION_KEY as 32 bytes in base64, base64url or hex, and refuses anything else without repeating it', () => {
    const bytes = randomBytes(32);
    for (const encoded of [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')])
      expect(decodeEncryptionKey(loadConfig({ SESSION_ENCRYPTION_KEY: encoded }).SESSION_ENCRYPTION_KEY!)).toEqual(bytes);
    for (const bad of ['short-secret', randomBytes(16).toString('base64'), randomBytes(48).toString('base64')]) {
      const message = refusal({ SESSION_ENCRYPTION_KEY: bad });
      expect(message).toContain(
        'SESSION_ENCRYPTION_KEY: expected 32 random bytes as base64 or 64 hex digits, e.g. from `openssl rand -base64 32` (got "***")',
      );
      expect(message).not.toContain(bad);
    }
  });

  it('refuses a refresh interval or grace that is not a positive number of seconds, and a trust flag that is not one', () => {
    expect(refusal({ SSO_REFRESH_INTERVAL: '0' })).toMatch(/SSO_REFRESH_INTERVAL: expected a positive whole number of seconds/);
    expect(refusal({ SSO_REFRESH_GRACE: '15m' })).toMatch(/SSO_REFRESH_GRACE: expected a positive whole number of seconds/);
    expect(refusal({ OIDC_TRUST_EMAIL: 'sometimes' })).toMatch(/OIDC_TRUST_EMAIL: expected true or false/);
    expect(loadConfig({ OIDC_TRUST_EMAIL: 'yes', SSO_REFRESH_INTERVAL: '60' })).toMatchObject({
      OIDC_TRUST_EMAIL: true,
      SSO_REFRESH_INTERVAL: 60,
    });
  });
});
