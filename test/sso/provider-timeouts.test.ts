import { LoginTransaction } from '../../src/sso/login-transaction.entity';
import { User } from '../../src/users/user.entity';
import { makeGroup, makeRule } from '../support/factories';
import { Browser, freePort } from './support/browser';
import { logged, startLoggedGatehouse, type LoggedGatehouse } from './support/logged-gatehouse';
import { ssoRowCounts } from './support/sso-rows';
import { me, waitUntilSsoReady } from './support/sso-server';
import { startTestIdp, type TestIdp } from './support/test-idp';

// Every test here runs against a real oidc-provider whose HTTP server leaves chosen requests
// unanswered (`idp.unresponsive`): the one fault it cannot be asked to show by itself.

const AUDIENCE = 'https://gatehouse.test/api';
const TIMEOUT_S = 1;

type Em = ReturnType<LoggedGatehouse['db']['orm']['em']['fork']>;

const counts = (em: Em) => ssoRowCounts(em);

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}

describe(`GET /oidc/callback/ with OIDC_HTTP_TIMEOUT=${TIMEOUT_S} and a provider that stops answering`, () => {
  let idp: TestIdp;
  let gatehouse: LoggedGatehouse;
  let publicUrl: string;
  beforeAll(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    idp = await startTestIdp({ redirectUri: `${publicUrl}/oidc/callback/`, postLogoutRedirectUri: `${publicUrl}/login` });
    gatehouse = await startLoggedGatehouse({
      PORT: String(port),
      PUBLIC_URL: publicUrl,
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: idp.clientId,
      OIDC_CLIENT_SECRET: idp.clientSecret,
      OIDC_HTTP_TIMEOUT: String(TIMEOUT_S),
      OIDC_USE_USERINFO: 'true',
      OIDC_API_AUDIENCE: AUDIENCE,
    });
    await waitUntilSsoReady(publicUrl);
    await makeRule(gatehouse.db.orm.em.fork(), await makeGroup(gatehouse.db.orm.em.fork(), ['core.view_tweet']), 'STAFF');
    for (const sub of ['tess', 'tom', 'uli', 'ursula', 'vic']) idp.directory.set(sub, { groups: ['STAFF'] });
  });
  afterEach(() => idp.unresponsive.clear());
  afterAll(async () => {
    await gatehouse?.stop();
    await idp?.stop();
  });
  const em = () => gatehouse.db.orm.em.fork();

  /** A sign-in as `sub` in a fresh browser, up to (not into) Gatehouse's callback. */
  async function authorize(sub: string): Promise<{ browser: Browser; callbackUrl: string }> {
    idp.nextLogin = sub;
    const browser = new Browser();
    const { url, response } = await browser.follow(`${publicUrl}/oidc/authenticate/?next=/graphql`, (u) =>
      u.startsWith(`${publicUrl}/oidc/callback/`),
    );
    if (response) throw new Error(`the flow did not reach the callback: ${url} answered ${response.status}`);
    return { browser, callbackUrl: url };
  }

  /** Asserts the callback gave up after about the timeout, generically, persisting nothing, and logged why. */
  async function expectGivesUp(path: string, sub: string, logMessage: string, code: string, detail: RegExp) {
    const { browser, callbackUrl } = await authorize(sub);
    const state = new URL(callbackUrl).searchParams.get('state')!;
    const before = await counts(em());
    const logsBefore = gatehouse.logs.length;
    idp.unresponsive.add(path);
    const { result: response, ms } = await timed(() => browser.get(callbackUrl));
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`/login?error=${code}`);
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 50);
    expect(ms).toBeLessThan(TIMEOUT_S * 1000 + 2500);
    expect(browser.jar.has('gatehouse_session')).toBe(false);
    expect(await counts(em())).toEqual(before);
    expect(await em().count(User, { username: sub })).toBe(0);
    expect(await em().count(LoginTransaction, { state })).toBe(0); // used up: the callback cannot be replayed
    const entry = logged(gatehouse.logs.slice(logsBefore), logMessage);
    expect(entry.records).toHaveLength(1);
    expect(entry.text).toMatch(detail);
  }

  // First, while neither JWKS cache has fetched the keys yet.
  it('gives up on a JWKS endpoint that never answers (ID token signature check) with "identity provider unavailable", persisting nothing', async () => {
    await expectGivesUp('/jwks', 'tess', 'single sign-on failed: identity provider unavailable', 'idp_unavailable', /timed out/);
  });

  it('rejects a bearer access token when the JWKS never answers, within the timeout (jose timeoutDuration)', async () => {
    idp.unresponsive.add('/jwks');
    const now = Math.floor(Date.now() / 1000);
    const token = await idp.sign({ iss: idp.issuer, aud: AUDIENCE, sub: 'spa-user', iat: now, exp: now + 300, groups: ['STAFF'] });
    const logsBefore = gatehouse.logs.length;
    const { result, ms } = await timed(() =>
      fetch(`${publicUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ me { user { username } } }' }),
      }),
    );
    expect(await result.json()).toEqual({ data: { me: null } });
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 50);
    expect(ms).toBeLessThan(TIMEOUT_S * 1000 + 2500);
    expect(await em().count(User, { username: 'spa-user' })).toBe(0);
    expect(logged(gatehouse.logs.slice(logsBefore), 'bearer access token refused').text).toMatch(/ERR_JWKS_TIMEOUT|timed out/);
  });

  it('gives up on a token endpoint that never answers with "identity provider unavailable", persisting nothing', async () => {
    await expectGivesUp('/token', 'tom', 'single sign-on failed: identity provider unavailable', 'idp_unavailable', /timed out/);
  });

  it('gives up on a userinfo endpoint that never answers (OIDC_USE_USERINFO=true), persisting nothing', async () => {
    await expectGivesUp('/me', 'uli', 'single sign-on failed: identity provider unavailable', 'idp_unavailable', /timed out/);
  });

  it('refuses a userinfo response about another subject than the ID token (OIDC Core 5.3.2), persisting nothing', async () => {
    idp.userinfoClaims.set('ursula', { sub: 'mallory', groups: ['STAFF'] });
    const { browser, callbackUrl } = await authorize('ursula');
    const before = await counts(em());
    const logsBefore = gatehouse.logs.length;
    const response = await browser.get(callbackUrl);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?error=sso_failed');
    expect(browser.jar.has('gatehouse_session')).toBe(false);
    expect(await counts(em())).toEqual(before);
    expect(await em().count(User, { username: { $in: ['ursula', 'mallory'] } })).toBe(0);
    const failure = logged(gatehouse.logs.slice(logsBefore), 'single sign-on failed');
    expect(failure.records).toHaveLength(1);
    expect(failure.records[0].err?.code).toBe('OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED');
    expect(failure.records[0].err?.message).toMatch(/"sub" property value/);
  });

  it('signs in once the provider answers again (so the refusals above were the faults’ doing)', async () => {
    const { browser, callbackUrl } = await authorize('vic');
    const response = await browser.get(callbackUrl);
    expect(response.headers.get('location')).toBe('/graphql');
    expect(await me(publicUrl, browser.jar.get('gatehouse_session')!)).toMatchObject({
      user: { username: 'vic' },
      permissions: ['core.view_tweet'],
    });
  });
});

describe(`discovery with OIDC_HTTP_TIMEOUT=${TIMEOUT_S} and a provider that never answers it`, () => {
  let idp: TestIdp;
  let gatehouse: LoggedGatehouse;
  let publicUrl: string;
  afterAll(async () => {
    await gatehouse?.stop();
    await idp?.stop();
  });

  it('starts anyway; SSO gives up after the timeout with "identity provider unavailable" and writes nothing; discovery is retried', async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    idp = await startTestIdp({ redirectUri: `${publicUrl}/oidc/callback/`, postLogoutRedirectUri: `${publicUrl}/login` });
    idp.unresponsive.add('/.well-known/openid-configuration');
    gatehouse = await startLoggedGatehouse({
      PORT: String(port),
      PUBLIC_URL: publicUrl,
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: idp.clientId,
      OIDC_CLIENT_SECRET: idp.clientSecret,
      OIDC_HTTP_TIMEOUT: String(TIMEOUT_S),
    });
    expect((await fetch(`${publicUrl}/healthz`)).status).toBe(200);

    const { result: response, ms } = await timed(() => fetch(`${publicUrl}/oidc/authenticate/?next=/graphql`, { redirect: 'manual' }));
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?error=idp_unavailable&next=%2Fgraphql');
    expect(ms).toBeLessThan(TIMEOUT_S * 1000 + 2500);
    expect(await gatehouse.db.orm.em.fork().count(LoginTransaction, {})).toBe(0);
    const unreachable = logged(gatehouse.logs, 'single sign-on: identity provider unreachable; retrying later');
    expect(unreachable.records.length).toBeGreaterThanOrEqual(1);
    expect(unreachable.text).toMatch(/timed out/);

    // The provider answers again: the background retry discovers it.
    idp.unresponsive.clear();
    await waitUntilSsoReady(publicUrl, 15_000);
  });
});
