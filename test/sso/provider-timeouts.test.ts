import { LoginTransaction } from '../../src/sso/login-transaction.entity';
import { User } from '../../src/users/user.entity';
import { MeDocument } from '../generated/graphql';
import { makeGroup, makeRule } from '../support/factories';
import { logged } from '../support/logs';
import { startSsoTestBed, type SsoTestBed } from './support/sso-test-bed';

// Every test here runs against a real oidc-provider whose HTTP server leaves chosen requests
// unanswered (`idp.unresponsive`): the one fault it cannot be asked to show by itself.

const AUDIENCE = 'https://gatehouse.test/api';
const TIMEOUT_S = 1;

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work();
  return { result, ms: performance.now() - started };
}

describe(`GET /oidc/callback/ with OIDC_HTTP_TIMEOUT=${TIMEOUT_S} and a provider that stops answering`, () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed({
      logs: true,
      env: { OIDC_HTTP_TIMEOUT: String(TIMEOUT_S), OIDC_USE_USERINFO: 'true', OIDC_API_AUDIENCE: AUDIENCE },
    });
    await makeRule(bed.server.db.orm.em.fork(), await makeGroup(bed.server.db.orm.em.fork(), ['core.view_tweet']), 'STAFF');
    for (const sub of ['tess', 'tom', 'uli', 'ursula', 'vic']) bed.idp.directory.set(sub, { groups: ['STAFF'] });
  });
  afterEach(() => bed.idp.unresponsive.clear());
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();
  const logs = () => bed.server.logs;

  /** Asserts the callback gave up after about the timeout, generically, persisting nothing, and logged why. */
  async function expectGivesUp(path: string, sub: string, logMessage: string, code: string, detail: RegExp) {
    const { browser, callbackUrl } = await bed.authorize(sub);
    const state = new URL(callbackUrl).searchParams.get('state')!;
    const before = await bed.server.db.snapshot();
    const logsBefore = logs().length;
    bed.idp.unresponsive.add(path);
    const { result: response, ms } = await timed(() => browser.get(callbackUrl));
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`/login?error=${code}`);
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 50);
    expect(ms).toBeLessThan(TIMEOUT_S * 1000 + 2500);
    expect(browser.cookie('gatehouse_session')).toBeUndefined();
    expect(await bed.server.db.snapshot()).toEqual(before);
    expect(await em().count(User, { username: sub })).toBe(0);
    expect(await em().count(LoginTransaction, { state })).toBe(0); // used up: the callback cannot be replayed
    const entry = logged(logs().slice(logsBefore), logMessage);
    expect(entry.records).toHaveLength(1);
    expect(entry.text).toMatch(detail);
  }

  // First, while neither JWKS cache has fetched the keys yet.
  it('gives up on a JWKS endpoint that never answers (ID token signature check) with "identity provider unavailable", persisting nothing', async () => {
    await expectGivesUp('/jwks', 'tess', 'single sign-on failed: identity provider unavailable', 'idp_unavailable', /timed out/);
  });

  it('rejects a bearer access token when the JWKS never answers, within the timeout (jose timeoutDuration)', async () => {
    bed.idp.unresponsive.add('/jwks');
    const now = Math.floor(Date.now() / 1000);
    const token = await bed.idp.sign({ iss: bed.idp.issuer, aud: AUDIENCE, sub: 'spa-user', iat: now, exp: now + 300, groups: ['STAFF'] });
    const logsBefore = logs().length;
    const { result, ms } = await timed(() => bed.server.graphql(MeDocument, {}, token));
    expect(result.body).toEqual({ data: { me: null } });
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 50);
    expect(ms).toBeLessThan(TIMEOUT_S * 1000 + 2500);
    expect(await em().count(User, { username: 'spa-user' })).toBe(0);
    expect(logged(logs().slice(logsBefore), 'bearer access token refused').text).toMatch(/ERR_JWKS_TIMEOUT|timed out/);
  });

  it('gives up on a token endpoint that never answers with "identity provider unavailable", persisting nothing', async () => {
    await expectGivesUp('/token', 'tom', 'single sign-on failed: identity provider unavailable', 'idp_unavailable', /timed out/);
  });

  it('gives up on a userinfo endpoint that never answers (OIDC_USE_USERINFO=true), persisting nothing', async () => {
    await expectGivesUp('/me', 'uli', 'single sign-on failed: identity provider unavailable', 'idp_unavailable', /timed out/);
  });

  it('refuses a userinfo response about another subject than the ID token (OIDC Core 5.3.2), persisting nothing', async () => {
    bed.idp.userinfoClaims.set('ursula', { sub: 'mallory', groups: ['STAFF'] });
    const { browser, callbackUrl } = await bed.authorize('ursula');
    const before = await bed.server.db.snapshot();
    const logsBefore = logs().length;
    const response = await browser.get(callbackUrl);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?error=sso_failed');
    expect(browser.cookie('gatehouse_session')).toBeUndefined();
    expect(await bed.server.db.snapshot()).toEqual(before);
    expect(await em().count(User, { username: { $in: ['ursula', 'mallory'] } })).toBe(0);
    const failure = logged(logs().slice(logsBefore), 'single sign-on failed');
    expect(failure.records).toHaveLength(1);
    expect(failure.records[0].err?.code).toBe('OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED');
    expect(failure.records[0].err?.message).toMatch(/"sub" property value/);
  });

  it('signs in once the provider answers again (so the refusals above were the faults’ doing)', async () => {
    const { response, sessionToken } = await bed.signIn('vic');
    expect(response.headers.get('location')).toBe('/graphql');
    expect(await bed.me(sessionToken)).toMatchObject({
      user: { username: 'vic' },
      permissions: ['core.view_tweet'],
    });
  });
});

describe(`discovery with OIDC_HTTP_TIMEOUT=${TIMEOUT_S} and a provider that never answers it`, () => {
  let bed: SsoTestBed;
  afterAll(() => bed?.stop());

  it('starts anyway; SSO gives up after the timeout with "identity provider unavailable" and writes nothing; discovery is retried', async () => {
    bed = await startSsoTestBed({
      logs: true,
      env: { OIDC_HTTP_TIMEOUT: String(TIMEOUT_S) },
      beforeGatehouse: (idp) => void idp.unresponsive.add('/.well-known/openid-configuration'),
      waitForDiscovery: false,
    });
    const { publicUrl } = bed;
    expect((await fetch(`${publicUrl}/healthz`)).status).toBe(200);

    const { result: response, ms } = await timed(() => fetch(`${publicUrl}/oidc/authenticate/?next=/graphql`, { redirect: 'manual' }));
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?error=idp_unavailable&next=%2Fgraphql');
    expect(ms).toBeLessThan(TIMEOUT_S * 1000 + 2500);
    expect(await bed.server.db.orm.em.fork().count(LoginTransaction, {})).toBe(0);
    const unreachable = logged(bed.server.logs, 'single sign-on: identity provider unreachable; retrying later');
    expect(unreachable.records.length).toBeGreaterThanOrEqual(1);
    expect(unreachable.text).toMatch(/timed out/);

    // The provider answers again: the background retry discovers it.
    bed.idp.unresponsive.clear();
    await bed.waitUntilReady(15_000);
  });
});
