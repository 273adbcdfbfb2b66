import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Session } from '../../src/sessions/session.entity';
import { hashToken } from '../../src/sessions/sessions.service';
import { chooseTokenAuthMethod } from '../../src/sso/relying-party';
import { makeGroup, makeRule } from '../support/factories';
import { logged } from '../support/logs';
import { startSsoTestBed, type ClientRegistration, type SsoTestBed } from './support/sso-test-bed';
import { startTestIdp } from './support/test-idp';

const rsaPem = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const ecPem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'sec1' }).toString();

/**
 * A bed whose provider (oidc-provider) registers Gatehouse as `client` says — its
 * token_endpoint_auth_method is then the only one it accepts from this client — and issues
 * refresh tokens, so that the refresh grant authenticates the same way as the code grant.
 */
async function bedWith(
  client: (registration: ClientRegistration) => Record<string, unknown>,
  env: Record<string, string>,
  clientAuthMethods?: string[],
): Promise<SsoTestBed> {
  const bed = await startSsoTestBed({
    provider: (registration) => startTestIdp({ ...registration, refreshTokens: true, client: client(registration), clientAuthMethods }),
    env: { SESSION_ENCRYPTION_KEY: randomBytes(32).toString('base64'), ...env },
    logs: true,
  });
  const em = bed.server.db.orm.em.fork();
  await makeRule(em, await makeGroup(em, ['core.view_tweet']), 'STAFF');
  bed.idp.directory.set('kim', { groups: ['STAFF'] });
  return bed;
}

/** Signs kim in, then makes the session due and uses it: the code grant and then the refresh grant authenticated. */
async function signInAndRefresh(bed: SsoTestBed): Promise<void> {
  const { sessionToken, response } = await bed.signIn('kim');
  expect(response.headers.get('location')).toBe('/graphql');
  expect(await bed.me(sessionToken)).toMatchObject({ user: { username: 'kim' } });
  await bed.server.db.orm.em
    .fork()
    .nativeUpdate(Session, { tokenHash: hashToken(sessionToken!) }, { refreshDueAt: new Date(Date.now() - 1000) });
  expect(await bed.me(sessionToken)).toMatchObject({ user: { username: 'kim' } });
  expect(bed.idp.grants.slice(-2)).toEqual(['authorization_code', 'refresh_token']);
}

const methodInUse = (bed: SsoTestBed) =>
  logged(bed.server.logs, 'single sign-on: identity provider discovered').records[0]?.tokenAuthMethod;

describe('client authentication at the token endpoint, against a provider requiring each method', () => {
  const beds: SsoTestBed[] = [];
  afterAll(() => Promise.all(beds.map((bed) => bed.stop())));
  const track = (bed: SsoTestBed) => (beds.push(bed), bed);

  it('client_secret_basic, RFC 6749 §2.3.1-encoded: a client id and secret with reserved characters pass a provider that decodes them', async () => {
    const clientId = 'gatehouse-app:prod.1';
    const clientSecret = 'p@ss:w%rd+/= &-x_y.z~1';
    const bed = track(
      await bedWith(() => ({ client_id: clientId, client_secret: clientSecret, token_endpoint_auth_method: 'client_secret_basic' }), {
        OIDC_TOKEN_AUTH_METHOD: 'client_secret_basic',
      }),
    );
    await signInAndRefresh(bed);
    // Form-urlencoded, then base64: `-` travels as %2D, `:` as %3A, `.` as %2E, a space as `+`.
    const basic = Buffer.from(bed.idp.tokenAuthorizations.at(-1)!.replace(/^Basic /, ''), 'base64').toString();
    const [user, secret] = basic.split(':');
    expect(user).toBe('gatehouse%2Dapp%3Aprod%2E1');
    expect(decodeURIComponent(secret.replace(/\+/g, '%20'))).toBe(clientSecret);
  });

  it('client_secret_post: the credentials in the form, no Authorization header', async () => {
    const bed = track(
      await bedWith(() => ({ token_endpoint_auth_method: 'client_secret_post' }), { OIDC_TOKEN_AUTH_METHOD: 'client_secret_post' }),
    );
    await signInAndRefresh(bed);
    expect(bed.idp.tokenAuthorizations.slice(-2)).toEqual([undefined, undefined]);
    expect(methodInUse(bed)).toBe('client_secret_post');
  });

  it('private_key_jwt with an RSA key in OIDC_CLIENT_PRIVATE_KEY: the provider fetches /oidc/jwks.json and checks the assertion by its kid', async () => {
    const bed = track(
      await bedWith(
        (registration) => ({
          client_secret: undefined,
          token_endpoint_auth_method: 'private_key_jwt',
          token_endpoint_auth_signing_alg: 'RS256',
          jwks_uri: registration.jwksUri,
        }),
        // As a .env line holds it: one line, newlines written \n.
        { OIDC_TOKEN_AUTH_METHOD: 'private_key_jwt', OIDC_CLIENT_SECRET: '', OIDC_CLIENT_PRIVATE_KEY: rsaPem().replace(/\n/g, '\\n') },
      ),
    );
    await signInAndRefresh(bed);
    const jwks = (await (await fetch(`${bed.publicUrl}/oidc/jwks.json`)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: expect.stringMatching(/^[\w-]{43}$/) });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('private_key_jwt with an EC key from OIDC_CLIENT_PRIVATE_KEY_FILE and a kid of OIDC_CLIENT_KEY_ID', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-key-')), 'client.pem');
    writeFileSync(file, ecPem(), { mode: 0o600 });
    const bed = track(
      await bedWith(
        (registration) => ({
          client_secret: undefined,
          token_endpoint_auth_method: 'private_key_jwt',
          token_endpoint_auth_signing_alg: 'ES256',
          jwks_uri: registration.jwksUri,
        }),
        { OIDC_CLIENT_SECRET: '', OIDC_CLIENT_PRIVATE_KEY_FILE: file, OIDC_CLIENT_KEY_ID: 'gatehouse-2026' },
      ),
    );
    await signInAndRefresh(bed);
    expect(methodInUse(bed)).toBe('private_key_jwt');
    const jwks = (await (await fetch(`${bed.publicUrl}/oidc/jwks.json`)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toEqual([expect.objectContaining({ kty: 'EC', crv: 'P-256', alg: 'ES256', kid: 'gatehouse-2026' })]);
  });

  it('none: a public client with PKCE, no credentials at all', async () => {
    const bed = track(
      await bedWith(() => ({ client_secret: undefined, token_endpoint_auth_method: 'none' }), {
        OIDC_TOKEN_AUTH_METHOD: 'none',
        OIDC_CLIENT_SECRET: '',
      }),
    );
    await signInAndRefresh(bed);
    expect(bed.idp.tokenAuthorizations.slice(-2)).toEqual([undefined, undefined]);
  });

  it('unset: the first of the provider’s token_endpoint_auth_methods_supported that Gatehouse has a credential for', async () => {
    const bed = track(
      await bedWith(() => ({ token_endpoint_auth_method: 'client_secret_post' }), {}, [
        'private_key_jwt',
        'client_secret_post',
        'client_secret_basic',
      ]),
    );
    expect(methodInUse(bed)).toBe('client_secret_post');
    await signInAndRefresh(bed);
  });

  it('a method the provider does not accept from this client fails the sign-in (the provider checks it)', async () => {
    // Registered for private_key_jwt; Gatehouse sends its secret instead.
    const bed = track(
      await bedWith((registration) => ({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: registration.jwksUri }), {
        OIDC_TOKEN_AUTH_METHOD: 'client_secret_basic',
      }),
    );
    const { response, sessionToken } = await bed.signIn('kim');
    expect(response.headers.get('location')).toBe('/login?error=sso_failed');
    expect(sessionToken).toBeNull();
    expect(bed.idp.grants.at(-1)).toBe('refused:authorization_code');
  });

  it('a provider offering none of the methods Gatehouse is configured for: single sign-on does not start, and the log says why', async () => {
    const bed = await startSsoTestBed({
      provider: (registration) => startTestIdp({ ...registration, clientAuthMethods: ['private_key_jwt'] }),
      logs: true,
      waitForDiscovery: false,
    });
    track(bed);
    const response = await fetch(`${bed.publicUrl}/oidc/authenticate/`, { redirect: 'manual' });
    expect(response.headers.get('location')).toMatch(/error=idp_unavailable/);
    expect(bed.server.logs.map((r) => r.msg)).toContain(
      "single sign-on cannot start: the provider's token endpoint accepts private_key_jwt, and Gatehouse is configured for client_secret_basic, client_secret_post (set OIDC_TOKEN_AUTH_METHOD, OIDC_CLIENT_SECRET or OIDC_CLIENT_PRIVATE_KEY)",
    );
  });
});

describe('chooseTokenAuthMethod', () => {
  type Settings = Parameters<typeof chooseTokenAuthMethod>[0];
  const secret: Settings = { tokenAuthMethod: null, clientSecret: 's', clientPrivateKey: null };
  const key: Settings = { tokenAuthMethod: null, clientSecret: null, clientPrivateKey: 'pem' };
  const neither: Settings = { tokenAuthMethod: null, clientSecret: null, clientPrivateKey: null };

  it('takes OIDC_TOKEN_AUTH_METHOD as it is', () => {
    expect(chooseTokenAuthMethod({ ...secret, tokenAuthMethod: 'client_secret_post' }, ['client_secret_basic'])).toBe('client_secret_post');
  });

  it.each<[string, Settings, string[] | undefined, string]>([
    ['a secret, the provider silent (RFC 8414 default)', secret, undefined, 'client_secret_basic'],
    ['a secret', secret, ['private_key_jwt', 'client_secret_post', 'client_secret_basic'], 'client_secret_post'],
    ['a key', key, ['client_secret_basic', 'private_key_jwt'], 'private_key_jwt'],
    ['a secret and a key', { ...secret, clientPrivateKey: 'pem' }, ['private_key_jwt', 'client_secret_basic'], 'private_key_jwt'],
    ['neither (a public client)', neither, ['client_secret_basic', 'none'], 'none'],
  ])('with %s picks the provider’s first usable method', (_name, settings, supported, expected) => {
    expect(chooseTokenAuthMethod(settings, supported)).toBe(expected);
  });

  it('never picks none for a client that has a secret', () => {
    expect(() => chooseTokenAuthMethod(secret, ['none'])).toThrow(
      /accepts none, and Gatehouse is configured for client_secret_basic, client_secret_post/,
    );
  });
});
