/**
 * The account page at `/` over real HTTP: who is signed in, their groups and where each comes
 * from, permissions by app, sessions; its forms end only the person's own sessions and only
 * when posted from Gatehouse's own pages. (test/e2e/account-page-in-browser.test.ts drives it in
 * Chromium.)
 */
import { LogEntry, LogEvent } from '../../src/audit/log-entry.entity';
import { Session } from '../../src/sessions/session.entity';
import { GroupMappingRule, MatchType } from '../../src/sso/group-mapping-rule.entity';
import { SsoIdentity } from '../../src/sso/sso-identity.entity';
import { MembershipSource, UserGroup } from '../../src/users/user-group.entity';
import { User } from '../../src/users/user.entity';
import { LoginDocument } from '../generated/graphql';
import { Browser } from '../support/browser';
import { makeGroup, makeUser } from '../support/factories';
import { startTestServer, TEST_PASSWORD, type TestServer } from '../support/server';

const PUBLIC_URL = 'http://gatehouse.test';

describe('the account page at /', () => {
  let server: TestServer;
  const em = () => server.db.orm.em.fork();
  beforeAll(async () => {
    server = await startTestServer({ env: { PUBLIC_URL, GRAPHQL_EXPLORER: 'sandbox' } });
  });
  afterAll(() => server?.stop());

  /** A browser holding a session of `user` (signed in through the login mutation). */
  async function browserOf(user: User): Promise<{ browser: Browser; token: string }> {
    const token = await server.signIn(user);
    const browser = new Browser();
    browser.setCookie('gatehouse_session', token);
    return { browser, token };
  }
  const post = (
    browser: Browser,
    path: string,
    fields: Record<string, string> = {},
    headers: Record<string, string> = { origin: PUBLIC_URL },
  ) => browser.postForm(`${server.url}${path}`, fields, headers);
  const secondSession = async (user: User) =>
    (await server.graphql(LoginDocument, { username: user.username, password: TEST_PASSWORD })).data!.login.token;

  describe('signed out', () => {
    it.each([
      ['no cookie', ''],
      ['an unknown session token', 'gatehouse_session=an-unknown-token-that-is-long-enough-to-look-up'],
      ['a malformed cookie', 'gatehouse_session=%E0%A4%A'],
      ['a cookie too short to be a token', 'gatehouse_session=x'],
    ])('with %s, is a 303 to /login?next=/ and caches nothing', async (_what, cookie) => {
      const response = await fetch(`${server.url}/`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
      expect([response.status, response.headers.get('location')]).toEqual([303, '/login?next=/']);
      expect(response.headers.get('cache-control')).toBe('no-store');
    });

    it('the sign-in page it leads to returns here after a password sign-in', async () => {
      const user = await makeUser(em());
      await server.signIn(user);
      const browser = new Browser();
      const page = await browser.get(`${server.url}/login?next=/`);
      expect(await page.text()).toContain('<input type="hidden" name="next" value="/">');
      const response = await post(browser, '/login', { username: user.username, password: TEST_PASSWORD, next: '/' });
      expect([response.status, response.headers.get('location')]).toEqual([303, '/']);
      expect((await browser.get(`${server.url}/`)).status).toBe(200);
    });

    it('a password sign-in without next lands here too', async () => {
      const user = await makeUser(em());
      await server.signIn(user);
      const response = await post(new Browser(), '/login', { username: user.username, password: TEST_PASSWORD });
      expect([response.status, response.headers.get('location')]).toEqual([303, '/']);
    });
  });

  describe('signed in', () => {
    it('shows who you are, your groups with where each comes from, your permissions by app, sessions and the explorers', async () => {
      const support = await makeGroup(em(), ['core.view_tweet', 'core.change_tweet'], 'support-page');
      const viewers = await makeGroup(em(), ['auth.view_user'], 'viewers-page');
      const user = await makeUser(em(), { groups: [support], perms: ['core.view_language'] });
      await em().nativeUpdate(User, { id: user.id }, { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', isStaff: true });
      // A single sign-on rule put the user in `viewers-page` too, and in `support-page` once more.
      const write = em();
      const rule = write.create(GroupMappingRule, {
        group: viewers,
        pattern: 'DIR_VIEW*',
        matchType: MatchType.GLOB,
        caseSensitive: false,
      });
      const supportRule = write.create(GroupMappingRule, { group: support, pattern: 'DIR_SUPPORT', matchType: MatchType.EXACT });
      await write.flush();
      write.create(UserGroup, { user: user.id, group: viewers, source: MembershipSource.SSO_RULE, rule });
      write.create(UserGroup, { user: user.id, group: support, source: MembershipSource.SSO_RULE, rule: supportRule });
      write.create(SsoIdentity, {
        user: user.id,
        issuer: 'https://idp.example.com',
        subject: 'ada',
        lastClaims: { groups: ['dir_viewers'] },
      });
      await write.flush();

      const { browser } = await browserOf(user);
      const response = await browser.get(`${server.url}/`);
      expect(response.status).toBe(200);
      const html = await response.text();
      for (const shown of [
        'Signed in as ' + user.username,
        '<dd>Ada Lovelace</dd>',
        '<dd>ada@example.com</dd>',
        '<dt>Signed in with</dt><dd>password</dd>',
        '<dd>staff</dd>',
        '<li><strong>support-page</strong><ul><li>assigned by an administrator</li>',
        `mapping rule #${supportRule.id} — claim <code>groups</code> is <code>DIR_SUPPORT</code>, which your last single sign-on no longer matches`,
        `<li><strong>viewers-page</strong><ul><li>single sign-on: mapping rule #${rule.id} — claim <code>groups</code> matches the pattern (any case) <code>DIR_VIEW*</code>, matched by <code>dir_viewers</code> at your last single sign-on</li>`,
        '<li><strong>auth</strong><ul><li><code>auth.view_user</code>',
        '<li><strong>core</strong><ul><li><code>core.change_tweet</code> <span class="muted">Can change tweet</span></li><li><code>core.view_language</code>',
        '<span class="tag">this browser</span>',
        '<a href="/graphiql">GraphiQL</a>',
        '<a href="/graphql">Apollo Sandbox</a>',
        '<form method="post" action="/oidc/logout/"><button type="submit">Sign out</button></form>',
      ])
        expect(html).toContain(shown);
      expect(html).not.toContain('Sign out everywhere else');
    });

    it('serves a self-contained page: no script, styles by hash, forms to this origin, no framing, nothing cached', async () => {
      const { browser } = await browserOf(await makeUser(em()));
      const response = await browser.get(`${server.url}/`);
      const csp = response.headers.get('content-security-policy')!;
      expect(csp).toBe(
        csp.match(
          /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/,
        )?.[0],
      );
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('referrer-policy')).toBe('same-origin');
      const html = await response.text();
      expect(html).not.toMatch(/<script|<link|https?:\/\//i);
    });

    it('escapes everything it shows (names, e-mail, user agent, claim values)', async () => {
      const user = await makeUser(em());
      const evil = '<img src=x onerror=alert(1)>"\'&';
      await em().nativeUpdate(User, { id: user.id }, { firstName: evil, email: `${evil}@example.com` });
      const token = await server.signIn(user);
      await em().nativeUpdate(Session, { user: user.id }, { userAgent: `${evil} agent` });
      const browser = new Browser();
      browser.setCookie('gatehouse_session', token);
      const html = await (await browser.get(`${server.url}/`)).text();
      expect(html).not.toContain('<img');
      expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;');
    });

    it('shows a superuser as holding every permission', async () => {
      const { browser } = await browserOf(await makeUser(em(), { isSuperuser: true, isStaff: true }));
      const html = await (await browser.get(`${server.url}/`)).text();
      expect(html).toContain('<dd>superuser, staff</dd>');
      expect(html).toContain('As a superuser you have every permission.');
      expect(html).toContain('<code>sso.delete_groupmappingrule</code>');
    });

    it('ignores a notice that is not a number', async () => {
      const { browser } = await browserOf(await makeUser(em()));
      const html = await (await browser.get(`${server.url}/?ended=%3Cb%3E`)).text();
      expect(html).not.toContain('role="status"');
      expect(html).not.toContain('<b>');
    });
  });

  describe('its forms', () => {
    it('"Sign out this one" ends another session of yours, records it, and says so', async () => {
      const user = await makeUser(em());
      const { browser } = await browserOf(user);
      await secondSession(user);
      const html = await (await browser.get(`${server.url}/`)).text();
      const other = /<input type="hidden" name="session" value="([0-9a-f-]{36})">/.exec(html)![1];
      expect(html).toContain('Sign out everywhere else');
      const response = await post(browser, '/account/sessions/end', { session: other });
      expect([response.status, response.headers.get('location')]).toEqual([303, '/?ended=1']);
      expect(await em().count(Session, { id: other })).toBe(0);
      expect(await (await browser.get(`${server.url}/?ended=1`)).text()).toContain('Signed out 1 session.');
      const [entry] = await em().find(LogEntry, { event: LogEvent.SIGN_OUT, user: user.id });
      expect(entry.changeMessage).toEqual([{ sign_out: { scope: 'one', via: 'browser', authMethod: 'password', sessionsEnded: 1 } }]);
    });

    it('never ends someone else’s session, whatever id is posted', async () => {
      const victim = await makeUser(em());
      await browserOf(victim);
      const victimSession = await em().findOneOrFail(Session, { user: victim.id });
      const { browser } = await browserOf(await makeUser(em()));
      for (const session of [victimSession.id, 'not-a-uuid', '']) {
        const response = await post(browser, '/account/sessions/end', { session });
        expect([response.status, response.headers.get('location')]).toEqual([303, '/?ended=0']);
      }
      expect(await em().count(Session, { user: victim.id })).toBe(1);
    });

    it('"Sign out everywhere else" ends every other session and keeps this one', async () => {
      const user = await makeUser(em());
      const { browser } = await browserOf(user);
      await secondSession(user);
      await secondSession(user);
      const response = await post(browser, '/account/sessions/end-others');
      expect([response.status, response.headers.get('location')]).toEqual([303, '/?ended=2']);
      expect(await em().count(Session, { user: user.id })).toBe(1);
      expect((await browser.get(`${server.url}/`)).status).toBe(200);
    });

    it('ending this very session signs this browser out', async () => {
      const user = await makeUser(em());
      const { browser } = await browserOf(user);
      const session = await em().findOneOrFail(Session, { user: user.id });
      const response = await post(browser, '/account/sessions/end', { session: session.id });
      expect([response.status, response.headers.get('location')]).toEqual([303, '/login']);
      expect(browser.cookie('gatehouse_session')).toBeUndefined();
    });

    it.each<[string, Record<string, string>]>([
      ['another site’s Origin', { origin: 'https://evil.example' }],
      ['another site’s Referer and no Origin', { referer: 'https://evil.example/page' }],
      ['neither Origin nor Referer', {}],
      ['Origin null (a sandboxed page)', { origin: 'null' }],
      ['Sec-Fetch-Site cross-site, whatever the Origin says', { origin: PUBLIC_URL, 'sec-fetch-site': 'cross-site' }],
      ['Sec-Fetch-Site same-site (a sibling subdomain)', { origin: PUBLIC_URL, 'sec-fetch-site': 'same-site' }],
    ])('refuses a POST with %s (403), ending nothing', async (_what, headers) => {
      const user = await makeUser(em());
      const { browser } = await browserOf(user);
      await secondSession(user);
      const other = (await em().find(Session, { user: user.id }, { orderBy: { createdAt: 'desc' } }))[0];
      for (const [path, fields] of [
        ['/account/sessions/end', { session: other.id }],
        ['/account/sessions/end-others', {}],
        ['/oidc/logout/', {}],
      ] as const) {
        const response = await post(browser, path, fields, headers);
        expect([path, response.status]).toEqual([path, 403]);
        expect(await response.text()).toBe('cross-origin request refused');
      }
      expect(await em().count(Session, { user: user.id })).toBe(2);
    });

    it('accepts Sec-Fetch-Site same-origin, as a browser sends it from the page', async () => {
      const user = await makeUser(em());
      const { browser } = await browserOf(user);
      await secondSession(user);
      const response = await post(browser, '/account/sessions/end-others', {}, { origin: PUBLIC_URL, 'sec-fetch-site': 'same-origin' });
      expect(response.status).toBe(303);
      expect(await em().count(Session, { user: user.id })).toBe(1);
    });

    it('signed out, a POST goes to the sign-in page and ends nothing', async () => {
      const response = await post(new Browser(), '/account/sessions/end-others');
      expect([response.status, response.headers.get('location')]).toEqual([303, '/login?next=/']);
    });

    it('answers an oversized or malformed form with a short 4xx, never a stack trace', async () => {
      const { browser } = await browserOf(await makeUser(em()));
      for (const body of ['session=' + 'a'.repeat(5000), '%zz=%E0%A4%A&session=%', 'a=1&'.repeat(50)]) {
        const response = await browser.request(`${server.url}/account/sessions/end`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: PUBLIC_URL },
          body,
        });
        expect(response.status).toBeLessThan(500);
        const text = await response.text();
        expect(text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
      }
    });
  });
});
