import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import {
  DEV_GROUPS_CLAIM,
  DevIdentityProviderRefused,
  startDevIdentityProvider,
  type DevIdentityProvider,
} from '../../src/sso/dev-idp/dev-identity-provider';
import { loadDirectory } from '../../src/sso/dev-idp/directory-file';
import { REFERENCE_RULES } from '../../src/sso/seed-rules';
import { Browser } from '../support/browser';

const PUBLIC_URL = 'http://localhost:4999';

function recordingLogger() {
  const lines: Array<{ level: string; obj: object; msg: string }> = [];
  return {
    lines,
    warn: (obj: object, msg: string) => void lines.push({ level: 'warn', obj, msg }),
    info: (obj: object, msg: string) => void lines.push({ level: 'info', obj, msg }),
  };
}

/**
 * Signs `username` in at the development IdP the way a browser would (authorization request,
 * login form, redirects) and returns the callback URL the browser is finally sent to.
 */
async function browserSignIn(authorizationUrl: URL, username: string, password: string): Promise<{ callback: URL; loginStatus: number[] }> {
  const browser = new Browser();
  const loginStatus: number[] = [];
  let response = await browser.get(authorizationUrl);
  const location = new URL(response.headers.get('location')!, authorizationUrl);
  expect(location.pathname).toMatch(/^\/interaction\//);
  const form = await browser.get(location);
  expect(form.status).toBe(200);
  expect(await form.text()).toContain('name="password"');
  for (const attempt of password === 'cosmos' ? ['not the password', password] : [password]) {
    response = await browser.postForm(location, { username, password: attempt });
    loginStatus.push(response.status);
  }
  // Follow the provider's redirects until it sends the browser back to Gatehouse.
  const followed = await browser.followRedirects(location, response, (next) => !next.href.startsWith(PUBLIC_URL));
  if (followed.next) return { callback: followed.next, loginStatus };
  throw new Error(`the IdP did not redirect back to Gatehouse (status ${followed.response.status}: ${await followed.response.text()})`);
}

describe('startDevIdentityProvider', () => {
  let idp: DevIdentityProvider;
  const logger = recordingLogger();
  beforeAll(async () => {
    idp = await startDevIdentityProvider({ publicUrl: PUBLIC_URL, logger, nodeEnv: 'test' });
  });
  afterAll(() => idp.stop());

  it('refuses to start in production', async () => {
    await expect(
      startDevIdentityProvider({ publicUrl: PUBLIC_URL, logger: recordingLogger(), nodeEnv: 'production' }),
    ).rejects.toBeInstanceOf(DevIdentityProviderRefused);
    const saved = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await expect(startDevIdentityProvider({ publicUrl: PUBLIC_URL, logger: recordingLogger() })).rejects.toThrow(
        /refuses to run in production/,
      );
    } finally {
      process.env.NODE_ENV = saved;
    }
  });

  it('logs a warning while it is on', () => {
    expect(logger.lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: expect.stringMatching(/development identity provider is on.*never use it in production/),
        obj: expect.objectContaining({ issuer: idp.issuer }),
      }),
    ]);
  });

  it('listens on loopback with an issuer built from the real port, and names its groups claim', () => {
    expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(idp.issuer).not.toMatch(/:0$/);
    expect(idp.groupsClaim).toBe('https://gatehouse.dev/ad/groups');
    expect(idp.clientId).toMatch(/^gatehouse-dev-/);
    expect(idp.clientSecret.length).toBeGreaterThanOrEqual(32);
  });

  it('serves discovery that openid-client accepts (code flow, S256, RS256, end_session_endpoint)', async () => {
    const config = await oidc.discovery(new URL(idp.issuer), idp.clientId, idp.clientSecret, undefined, {
      execute: [oidc.allowInsecureRequests],
    });
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(idp.issuer);
    expect(metadata.code_challenge_methods_supported).toContain('S256');
    expect(metadata.id_token_signing_alg_values_supported).toContain('RS256');
    expect(metadata.end_session_endpoint).toBe(`${idp.issuer}/session/end`);
    expect(metadata.claims_supported).toContain(DEV_GROUPS_CLAIM);
  });

  it('has the directory the issue asks for: Carl Sagan in support, one user per other mapped group, one in none', () => {
    const users = loadDirectory();
    const mapped = new Set(REFERENCE_RULES.map((r) => r.pattern));
    const carl = users.find((u) => u.username === 'carl.sagan');
    expect(carl).toMatchObject({ givenName: 'Carl', familyName: 'Sagan', emailVerified: true, groups: ['B2E_APP_MANAGEMENT_SUPPORT'] });
    for (const group of ['B2E_APP_MANAGEMENT_VIEWER', 'B2E_APP_MANAGEMENT_BUSINESS', 'B2E_APP_MANAGEMENT_DEVELOPER']) {
      expect(users.filter((u) => u.groups.includes(group))).toHaveLength(1);
    }
    expect(users.filter((u) => !u.groups.some((g) => mapped.has(g)))).toHaveLength(1);
    expect(idp.users.map((u) => u.username)).toEqual(users.map((u) => u.username));
  });

  it('signs Carl Sagan in through the code flow (PKCE, state, nonce) with his groups in the signed ID token', async () => {
    const config = await oidc.discovery(
      new URL(idp.issuer),
      idp.clientId,
      { client_secret: idp.clientSecret, id_token_signed_response_alg: 'RS256' },
      undefined,
      { execute: [oidc.allowInsecureRequests] },
    );
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const authorizationUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${PUBLIC_URL}/oidc/callback/`,
      scope: 'openid profile email',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const { callback, loginStatus } = await browserSignIn(authorizationUrl, 'carl.sagan', 'cosmos');
    expect(loginStatus).toEqual([401, 303]); // a wrong password is refused first
    expect(callback.pathname).toBe('/oidc/callback/');
    expect(callback.searchParams.get('iss')).toBe(idp.issuer);

    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: codeVerifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${idp.issuer}/jwks`)), {
      issuer: idp.issuer,
      audience: idp.clientId,
      algorithms: ['RS256'],
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({
      sub: 'carl.sagan',
      nonce,
      given_name: 'Carl',
      family_name: 'Sagan',
      name: 'Carl Sagan',
      email: 'carl.sagan@gatehouse.dev',
      email_verified: true,
      [DEV_GROUPS_CLAIM]: ['B2E_APP_MANAGEMENT_SUPPORT'],
    });
  });

  it.each(
    loadDirectory()
      .filter((u) => u.username !== 'carl.sagan')
      .map((u) => [u.username, u] as const),
  )('puts %s’s directory groups in the ID token', async (_name, user) => {
    const config = await oidc.discovery(new URL(idp.issuer), idp.clientId, idp.clientSecret, undefined, {
      execute: [oidc.allowInsecureRequests],
    });
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const authorizationUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${PUBLIC_URL}/oidc/callback/`,
      scope: 'openid profile email',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      nonce,
    });
    const { callback } = await browserSignIn(authorizationUrl, user.username, user.password);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: codeVerifier,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    expect(tokens.claims()).toMatchObject({ sub: user.username, email_verified: user.emailVerified, [DEV_GROUPS_CLAIM]: user.groups });
  });

  it('refuses an authorization request without PKCE', async () => {
    const url = new URL(`${idp.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: idp.clientId,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: `${PUBLIC_URL}/oidc/callback/`,
      state: 's',
    }).toString();
    const response = await fetch(url, { redirect: 'manual' });
    const location = new URL(response.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('invalid_request');
  });
});
