import { print } from 'graphql';
import { makeGroup, makeRule, makeUser } from '../support/factories';
import { LoginDocument, MeDocument } from '../generated/graphql';
import { startSsoTestBed, type SsoTestBed } from '../sso/support/sso-test-bed';

/**
 * Every /graphql response is per caller (the `login` mutation's answer carries a session token),
 * so none may be stored by a browser or a proxy: `Cache-Control: no-store` on all of them. No
 * Referer leaves /graphql, /login or /oidc/* (`Referrer-Policy: no-referrer`), but for the login
 * form's own page, which keeps `same-origin` so that its POST carries a real Origin.
 */
describe('HTTP headers of /graphql, /login and /oidc/*', () => {
  let bed: SsoTestBed;
  let token: string;
  beforeAll(async () => {
    bed = await startSsoTestBed();
    const user = await makeUser(bed.server.db.orm.em.fork(), { username: 'header-user' });
    await makeRule(bed.server.db.orm.em.fork(), await makeGroup(bed.server.db.orm.em.fork(), ['core.view_tweet']), 'STAFF');
    bed.idp.directory.set('alice', { groups: ['STAFF'] });
    token = await bed.server.signIn(user);
  });
  afterAll(() => bed.stop());

  // A transport test: the requests are built by hand to control their headers and bodies.
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${bed.publicUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  function expectNoStoreNoReferrer(response: Response) {
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  }

  it('marks the login mutation’s answer, which carries a token, no-store', async () => {
    const response = await post({
      query: print(LoginDocument),
      variables: { username: 'header-user', password: 'correct horse battery staple' },
    });
    const body = (await response.json()) as { data?: { login?: { token?: string } } };
    expect(body.data?.login?.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expectNoStoreNoReferrer(response);
  });

  it.each([
    ['an authenticated query (bearer)', () => post({ query: print(MeDocument) }, { authorization: `Bearer ${token}` })],
    ['an authenticated query (cookie)', () => post({ query: print(MeDocument) }, { cookie: `gatehouse_session=${token}` })],
    ['an anonymous query', () => post({ query: print(MeDocument) })],
    // Invalid on purpose: no typed document could be.
    ['a refused query (validation)', () => post({ query: '{ nosuchfield }' })],
    ['a refused body (not JSON)', () => post('{"query"')],
    ['a request refused as cross-site (CSRF)', () => fetch(`${bed.publicUrl}/graphql?query=%7B__typename%7D`)],
    ['a GET query', () => fetch(`${bed.publicUrl}/graphql?query=%7B__typename%7D`, { headers: { 'apollo-require-preflight': 'true' } })],
    ['Apollo Sandbox’s page', () => fetch(`${bed.publicUrl}/graphql`, { headers: { accept: 'text/html' } })],
    [
      'a persisted query Apollo does not know (Apollo sets its own Cache-Control there)',
      () => post({ extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } }),
    ],
  ])('marks %s no-store and no-referrer', async (_what, request) => {
    const response = await request();
    await response.arrayBuffer();
    expectNoStoreNoReferrer(response);
  });

  it('answers the persisted query case as Apollo does otherwise (PERSISTED_QUERY_NOT_FOUND)', async () => {
    const response = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } });
    expect(((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0].extensions.code).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );
  });

  it('sends no Referer from /oidc/authenticate/ (the redirect to the provider) nor from /oidc/callback/', async () => {
    const authenticate = await fetch(`${bed.publicUrl}/oidc/authenticate/?next=%2Fgraphql`, { redirect: 'manual' });
    expect(authenticate.status).toBe(302);
    expectNoStoreNoReferrer(authenticate);

    const { browser, callbackUrl } = await bed.authorize('alice');
    expect(callbackUrl).toMatch(/[?&]code=/);
    const callback = await browser.get(callbackUrl);
    expect(callback.status).toBe(303);
    expectNoStoreNoReferrer(callback);
  });

  it('sends no Referer from the password form’s redirect after signing in', async () => {
    const response = await fetch(`${bed.publicUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: bed.publicUrl },
      body: new URLSearchParams({ username: 'header-user', password: 'correct horse battery staple', next: '/graphql' }),
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('keeps same-origin on the login form’s page, whose POST must carry its Origin (no-referrer makes browsers send Origin: null)', async () => {
    const response = await fetch(`${bed.publicUrl}/login?next=%2Fgraphql`);
    expect(response.status).toBe(200);
    expect(response.headers.get('referrer-policy')).toBe('same-origin');
    expect(response.headers.get('cache-control')).toBe('no-store');
    // The page loads nothing from another origin, so same-origin sends no Referer anywhere else.
    const html = await response.text();
    expect(html).not.toMatch(/(src|href|action)="(https?:)?\/\//);
  });
});
