import { LoginTransaction } from '../../src/sso/login-transaction.entity';
import { makeGroup, makeRule, makeUser } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';
import { Browser, freePort } from './support/browser';
import { waitUntilSsoReady, me } from './support/sso-server';
import { startTestIdp, type TestIdp } from './support/test-idp';

describe('an identity provider that is down when Gatehouse starts', () => {
  let server: TestServer;
  let idp: TestIdp | undefined;
  let publicUrl: string;
  let idpPort: number;
  beforeAll(async () => {
    const port = await freePort();
    idpPort = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    // Nothing listens on idpPort yet.
    server = await startTestServer({
      env: {
        PORT: String(port),
        PUBLIC_URL: publicUrl,
        OIDC_ISSUER: `http://127.0.0.1:${idpPort}`,
        OIDC_CLIENT_ID: 'gatehouse-test',
        OIDC_CLIENT_SECRET: 'test-client-secret-that-is-long-enough-0123456789',
        OIDC_HTTP_TIMEOUT: '2',
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await idp?.stop();
  });

  it('starts anyway; SSO answers "identity provider unavailable" without recording an attempt; password sign-in works; SSO works once the provider is up', async () => {
    const response = await fetch(`${publicUrl}/oidc/authenticate/?next=/graphql`, { redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?error=idp_unavailable&next=%2Fgraphql');
    const page = await (await fetch(`${publicUrl}${response.headers.get('location')}`)).text();
    expect(page).toContain('The identity provider is unavailable');
    expect(await server.db.orm.em.fork().count(LoginTransaction, {})).toBe(0);

    const local = await makeUser(server.db.orm.em.fork(), { username: 'local-dev' });
    const token = await server.signIn(local);
    expect((await server.graphql('{ me { user { username } } }', {}, token)).data).toEqual({ me: { user: { username: 'local-dev' } } });

    // The provider comes up on the configured address; discovery is retried in the background.
    idp = await startTestIdp({ port: idpPort, redirectUri: `${publicUrl}/oidc/callback/`, postLogoutRedirectUri: `${publicUrl}/login` });
    await makeRule(server.db.orm.em.fork(), await makeGroup(server.db.orm.em.fork(), ['core.view_tweet']), 'LATE');
    idp.directory.set('late', { groups: ['LATE'] });
    idp.nextLogin = 'late';
    await waitUntilSsoReady(publicUrl, 20_000);
    const browser = new Browser();
    const { url } = await browser.follow(`${publicUrl}/oidc/authenticate/?next=/graphql`, (u) => u === `${publicUrl}/graphql`);
    expect(url).toBe(`${publicUrl}/graphql`);
    expect((await me(publicUrl, browser.jar.get('gatehouse_session')!))?.permissions).toEqual(['core.view_tweet']);
  });
});
