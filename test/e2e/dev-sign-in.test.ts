/**
 * The single sign-on issue's "Done when", for real: `npm start` with no configuration lets a
 * person open `/login`, sign in through the development IdP as Carl Sagan and see the support
 * group's 8 permissions in `me`. The service runs as a child process exactly as `npm start`
 * runs it (NODE_ENV=development, no OIDC_* and no PUBLIC_URL, so the public URL is the default
 * `http://localhost:<PORT>` and the built-in IdP listens on `127.0.0.1:<PORT+1>`); only the
 * database is a fresh PostgreSQL one instead of the embedded default, for speed. A person's
 * browser is played by fetch with a per-host cookie jar, following every redirect by hand.
 */
import { SsoIdentity } from '../../src/sso/sso-identity.entity';
import { User } from '../../src/users/user.entity';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { MyAccountDocument } from '../generated/graphql';
import { Browser, decodeHtml, readForm, readHiddenFields } from '../support/browser';
import { graphqlClient } from '../support/graphql-client';
import { startGatehouseProcess, type GatehouseProcess } from '../support/gatehouse-process';
import { signOutAtProvider } from '../sso/support/provider-logout';

const SUPPORT_PERMISSIONS = [
  'core.add_language',
  'core.add_tweet',
  'core.change_language',
  'core.change_tweet',
  'core.delete_language',
  'core.delete_tweet',
  'core.view_language',
  'core.view_tweet',
];
const ACCESS_NOT_GRANTED = 'Access not granted: your account is not in a group that may use Gatehouse.';

describe('npm start with no configuration: sign-in through the development identity provider', () => {
  let db: TestDatabase;
  let service: GatehouseProcess;
  /** Gatehouse's public base URL: the default, `http://localhost:<PORT>`. */
  let publicUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase({ poolMax: 1 });
    service = await startGatehouseProcess({ NODE_ENV: 'development', DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
    publicUrl = `http://localhost:${service.port}`;
  });
  afterAll(async () => {
    await service?.stop(2000);
    await db?.drop();
  });

  /** Opens /login, clicks "Sign in with single sign-on" and follows the redirects to the IdP's login form. */
  async function openIdpLoginForm(browser: Browser, loginPage = `${publicUrl}/login`) {
    const login = await browser.get(loginPage);
    expect(login.status).toBe(200);
    const href = /<a class="sso" href="([^"]+)"/.exec(await login.text())?.[1];
    expect(href).toBeDefined();
    const authenticate = new URL(decodeHtml(href!), loginPage);
    const toIdp = await browser.get(authenticate);
    expect(toIdp.status).toBe(302);
    const authorization = new URL(toIdp.headers.get('location')!);
    expect(authorization.origin).toBe(service.idpUrl);
    expect(authorization.searchParams.get('redirect_uri')).toBe(`${publicUrl}/oidc/callback/`);
    const { url, response } = await browser.followRedirects(authenticate, toIdp);
    expect(response.status).toBe(200);
    expect(url.origin).toBe(service.idpUrl);
    const form = readForm(await response.text());
    expect(form.method).toBe('post');
    expect(form.inputs).toEqual(expect.arrayContaining(['username', 'password']));
    return new URL(form.action, url);
  }

  /** Submits the IdP's form and follows the redirects up to and including Gatehouse's callback. */
  async function submitAndReturnToGatehouse(browser: Browser, action: URL, username: string, password: string) {
    const submitted = await browser.postForm(action, { username, password });
    expect([302, 303]).toContain(submitted.status);
    const keepGoing = (next: URL) => next.origin === service.idpUrl || next.pathname === '/oidc/callback/';
    let { url, response } = await browser.followRedirects(action, submitted, keepGoing);
    if (url.origin === service.idpUrl && response.status === 200) {
      // Signing in as another account than the provider's session ends that session first,
      // through a page whose script posts a hidden form at once; post it as the browser would.
      const html = await response.text();
      const form = readForm(html);
      const endSession = new URL(form.action, url);
      ({ url, response } = await browser.followRedirects(
        endSession,
        await browser.postForm(endSession, readHiddenFields(html)),
        keepGoing,
      ));
    }
    expect(`${url.origin}${url.pathname}`).toBe(`${publicUrl}/oidc/callback/`);
    expect(url.searchParams.get('code')).toBeTruthy();
    expect(url.searchParams.get('iss')).toBe(service.idpUrl);
    return response;
  }

  /** The `me` query sent by the browser, with whatever cookies it holds. */
  async function me(browser: Browser) {
    const graphql = graphqlClient(publicUrl, { transport: (url, init) => browser.request(url, init) });
    const result = await graphql(MyAccountDocument);
    expect(result.status).toBe(200);
    expect(result.errors).toBeUndefined();
    return result.data!.me;
  }

  const usersNamed = (username: string, email: string) => db.orm.em.fork().count(User, { $or: [{ username }, { email }] });

  describe('GET /login', () => {
    it('serves a small self-contained sign-in page with the single sign-on link', async () => {
      const response = await fetch(`${publicUrl}/login`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
      const html = await response.text();
      expect(html).toContain('<a class="sso" href="/oidc/authenticate/?next=%2F">Sign in with single sign-on</a>');
      expect(html).not.toMatch(/<(script|link|img)\b/i);
      expect(html.length).toBeLessThan(4096);
    });
  });

  describe('single sign-on as Carl Sagan (directory group B2E_APP_MANAGEMENT_SUPPORT)', () => {
    it('ends with a session cookie and a 303 to the account page, and `me` shows the support group’s 8 permissions', async () => {
      const browser = new Browser();
      const action = await openIdpLoginForm(browser);
      const callback = await submitAndReturnToGatehouse(browser, action, 'carl.sagan', 'cosmos');
      expect(callback.status).toBe(303);
      expect(callback.headers.get('location')).toBe('/');
      const sessionCookie = callback.headers.getSetCookie().find((line) => line.startsWith('gatehouse_session='));
      expect(sessionCookie).toMatch(/^gatehouse_session=[A-Za-z0-9_-]{43}; Max-Age=\d+; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
      expect(browser.cookies('localhost').gatehouse_session).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // The attempt's state cookie is used up.
      expect(browser.cookies('localhost').gatehouse_oidc_state).toBeUndefined();
      // The browser lands on the account page, which names the person.
      const landing = await browser.get(`${publicUrl}/`, { accept: 'text/html' });
      expect(landing.status).toBe(200);
      expect(landing.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await landing.text()).toContain('Signed in as carl.sagan');

      expect(await me(browser)).toEqual({
        user: {
          id: expect.any(String),
          username: 'carl.sagan',
          email: 'carl.sagan@gatehouse.dev',
          firstName: 'Carl',
          lastName: 'Sagan',
          isStaff: true,
          isSuperuser: false,
        },
        permissions: SUPPORT_PERMISSIONS,
      });
    });
  });

  describe('refusals', () => {
    it('refuses edwin.hubble, who is in no mapped group, with "access not granted" on /login and creates no user', async () => {
      const browser = new Browser();
      const action = await openIdpLoginForm(browser);
      const callback = await submitAndReturnToGatehouse(browser, action, 'edwin.hubble', 'redshift');
      expect(callback.status).toBe(303);
      const location = callback.headers.get('location')!;
      expect(location).toMatch(/^\/login\?error=access_not_granted\b/);
      expect(browser.cookies('localhost').gatehouse_session).toBeUndefined();
      const page = await browser.get(new URL(location, publicUrl));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(ACCESS_NOT_GRANTED);
      expect(await me(browser)).toBeNull();
      expect(await usersNamed('edwin.hubble', 'edwin.hubble@gatehouse.dev')).toBe(0);
      expect(await db.orm.em.fork().count(SsoIdentity, { subject: 'edwin.hubble' })).toBe(0);
    });

    it('lets a refused person sign in as someone else: the retry link makes the IdP ask again (prompt=login)', async () => {
      const browser = new Browser();
      const refused = await submitAndReturnToGatehouse(browser, await openIdpLoginForm(browser), 'edwin.hubble', 'redshift');
      const refusalPage = new URL(refused.headers.get('location')!, publicUrl);
      // The IdP still has edwin's session; without prompt=login it would refuse again without a form.
      const action = await openIdpLoginForm(browser, refusalPage.href);
      const callback = await submitAndReturnToGatehouse(browser, action, 'carl.sagan', 'cosmos');
      expect(callback.status).toBe(303);
      expect((await me(browser))?.user.username).toBe('carl.sagan');
    });

    it('does not sign in with a wrong password at the development IdP', async () => {
      const browser = new Browser();
      const action = await openIdpLoginForm(browser);
      const refused = await browser.postForm(action, { username: 'vera.rubin', password: 'not galaxies' });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('location')).toBeNull();
      expect(await refused.text()).toContain('Unknown username or wrong password.');
      expect(browser.cookies('localhost').gatehouse_session).toBeUndefined();
      expect(await me(browser)).toBeNull();
      expect(await usersNamed('vera.rubin', 'vera.rubin@gatehouse.dev')).toBe(0);
    });
  });

  describe('signing out at the development IdP', () => {
    it('ends the Gatehouse session at once: the IdP posts its back-channel logout token to Gatehouse', async () => {
      const browser = new Browser();
      await submitAndReturnToGatehouse(browser, await openIdpLoginForm(browser), 'vera.rubin', 'galaxies');
      expect((await me(browser))?.user.username).toBe('vera.rubin');
      await signOutAtProvider(browser, service.idpUrl);
      expect(await me(browser)).toBeNull();
      expect(service.output()).not.toMatch(/backchannel|SSRF/i);
    });
  });

  describe('shutdown', () => {
    it('stops on SIGTERM with exit status 0', async () => {
      const exit = await service.stop();
      expect(exit).toEqual({ code: 0, signal: null });
      expect(service.output()).not.toMatch(/"level":(50|60)/);
    });
  });
});
