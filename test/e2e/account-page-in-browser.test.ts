/**
 * The "Done when", in a real browser: a person following the README creates a superuser
 * with `gatehouse createsuperuser`, signs in with the password in Chromium, lands on the account
 * page and reads their data there, opens the explorer at /graphiql and runs a query, signs out
 * another session and every other one, and signs out. A single sign-on as Carl Sagan lands on
 * the account page too, showing which mapping rule and which claim value put him in `support`,
 * and its Sign out continues at the provider. The service runs as `npm start` runs it
 * (development, the built-in identity provider; a fresh PostgreSQL database instead of the
 * embedded one, for speed); every request a page makes off the machine fails the test.
 */
import type { Page } from 'playwright-core';
import { LogEntry, LogEvent } from '../../src/audit/log-entry.entity';
import { GroupMappingRule } from '../../src/sso/group-mapping-rule.entity';
import { gatehouse } from '../cli/run-gatehouse';
import { useChromium, type BrowserTab } from '../support/chromium';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { signInThroughDevIdp } from '../support/dev-idp-sign-in';
import { startGatehouseProcess, type GatehouseProcess } from '../support/gatehouse-process';

const USERNAME = 'grace';
const EMAIL = 'grace@example.com';
const PASSWORD = 'a long passphrase nobody guesses';

describe('the account page at /, in Chromium', () => {
  const browser = useChromium();
  let db: TestDatabase;
  let service: GatehouseProcess;
  let publicUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase({ poolMax: 1 });
    service = await startGatehouseProcess({ NODE_ENV: 'development', DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
    publicUrl = `http://localhost:${service.port}`;
    // README: "Sign in with a password after `npx gatehouse createsuperuser`".
    const created = await gatehouse(['createsuperuser', '--no-input', '--username', USERNAME, '--email', EMAIL], {
      DATABASE_URL: db.url,
      GATEHOUSE_SUPERUSER_PASSWORD: PASSWORD,
      LOG_LEVEL: 'warn',
    });
    expect(created).toMatchObject({ code: 0, stdout: `superuser "${USERNAME}" created\n` });
  });
  afterAll(async () => {
    await service?.stop(2000);
    await db?.drop();
  });

  /** Opens `/` signed out, is sent to the sign-in page, signs in with the password and lands back on `/`. */
  async function signInWithPassword(page: Page): Promise<void> {
    await page.goto(`${publicUrl}/`);
    expect(`${new URL(page.url()).pathname}${new URL(page.url()).search}`).toBe('/login?next=/');
    await page.getByLabel('Username').fill(USERNAME);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${publicUrl}/`);
  }

  /** The session rows of the account page: [how, address, the row's action]. */
  const sessionRows = (page: Page) => page.locator('table.sessions tbody tr');

  /** A log event as [event, its kind, the scope of a sign-out]. */
  const summary = (entry: LogEntry) => {
    const [[kind, details]] = Object.entries(entry.changeMessage[0] as Record<string, { scope?: string }>);
    return [entry.event, kind, details.scope ?? null];
  };

  const expectClean = (...tabs: BrowserTab[]) => {
    for (const tab of tabs) {
      expect(tab.blocked).toEqual([]);
      expect(tab.errors).toEqual([]);
    }
  };

  it('a person signs in with a password, reads their account, runs a query in GraphiQL, signs out other sessions, and signs out', () =>
    browser.run(async ({ newTab }) => {
      const laptop = await newTab();
      const { page } = laptop;
      await signInWithPassword(page);

      // Who they are and how they signed in.
      await page.getByRole('heading', { name: `Signed in as ${USERNAME}` }).waitFor();
      const who = page.locator('dl.who');
      await expect(who.locator('dt:text-is("E-mail") + dd').innerText()).resolves.toBe(EMAIL);
      await expect(who.locator('dt:text-is("Signed in with") + dd').innerText()).resolves.toBe('password');
      await expect(who.locator('dt:text-is("Superuser, staff") + dd').innerText()).resolves.toBe('superuser, staff');
      // A superuser holds every permission, grouped by app.
      await page.getByText('As a superuser you have every permission.').waitFor();
      const apps = await page.locator('ul.permissions > li > strong').allInnerTexts();
      expect(apps).toEqual(['admin', 'auth', 'core', 'sso']);
      await page.locator('ul.permissions code', { hasText: 'auth.change_user' }).waitFor();
      await expect(sessionRows(page).count()).resolves.toBe(1);

      // The explorer, from the link on the page: a query runs as this person.
      await page.getByRole('link', { name: 'GraphiQL' }).click();
      await page.waitForURL(`${publicUrl}/graphiql`);
      const editor = page.locator('.graphiql-query-editor .CodeMirror');
      await editor.waitFor();
      await editor.click();
      await page.keyboard.press('Control+A');
      await page.keyboard.insertText('{ me { user { username email isSuperuser } } }');
      await page.getByRole('button', { name: /Execute query/i }).click();
      const response = page.locator('.graphiql-response');
      await response.getByText(`"${USERNAME}"`).waitFor();
      const shown = JSON.parse((await response.locator('.CodeMirror-code').innerText()).replace(/\u00a0/g, ' '));
      expect(shown).toEqual({ data: { me: { user: { username: USERNAME, email: EMAIL, isSuperuser: true } } } });
      await page.goBack();
      await page.waitForURL(`${publicUrl}/`);

      // The same person on two more machines.
      const phone = await newTab();
      await signInWithPassword(phone.page);
      const desktop = await newTab();
      await signInWithPassword(desktop.page);
      await page.reload();
      await expect(sessionRows(page).count()).resolves.toBe(3);

      // "Sign out this one" on the phone's session (the newest but one: the list is newest first).
      await sessionRows(page).nth(1).getByRole('button', { name: 'Sign out this one' }).click();
      await page.getByRole('status').getByText('Signed out 1 session.').waitFor();
      await expect(sessionRows(page).count()).resolves.toBe(2);
      await phone.page.reload();
      expect(new URL(phone.page.url()).pathname).toBe('/login');

      // "Sign out everywhere else": the desktop is signed out, this laptop is not.
      await page.getByRole('button', { name: 'Sign out everywhere else' }).click();
      await page.getByRole('status').getByText('Signed out 1 session.').waitFor();
      await expect(sessionRows(page).count()).resolves.toBe(1);
      await page.getByText('You are signed in nowhere else.').waitFor();
      await desktop.page.reload();
      expect(new URL(desktop.page.url()).pathname).toBe('/login');

      // Sign out: back to the sign-in page, and the account page asks to sign in again.
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.waitForURL(`${publicUrl}/login`);
      await page.goto(`${publicUrl}/`);
      expect(`${new URL(page.url()).pathname}${new URL(page.url()).search}`).toBe('/login?next=/');

      // All of it is in the admin log.
      const events = await db.orm.em.fork().find(LogEntry, { event: { $ne: null }, objectRepr: USERNAME }, { orderBy: { id: 'asc' } });
      expect(events.map(summary)).toEqual([
        [LogEvent.SIGN_IN, 'password_login', null],
        [LogEvent.SIGN_IN, 'password_login', null],
        [LogEvent.SIGN_IN, 'password_login', null],
        [LogEvent.SIGN_OUT, 'sign_out', 'one'],
        [LogEvent.SIGN_OUT, 'sign_out', 'others'],
        [LogEvent.SIGN_OUT, 'sign_out', 'this'],
      ]);
      expectClean(laptop, phone, desktop);
    }));

  it('a single sign-on lands on the account page, which shows the rule and claim value behind each group, and signs out at the provider', () =>
    browser.run(async ({ newTab }) => {
      const tab = await newTab();
      const { page } = tab;
      await page.goto(`${publicUrl}/login`);
      await signInThroughDevIdp(page, service.idpUrl, 'carl.sagan', 'cosmos');
      expect(page.url()).toBe(`${publicUrl}/`);

      await page.getByRole('heading', { name: 'Signed in as carl.sagan' }).waitFor();
      const who = page.locator('dl.who');
      await expect(who.locator('dt:text-is("Name") + dd').innerText()).resolves.toBe('Carl Sagan');
      await expect(who.locator('dt:text-is("Signed in with") + dd').innerText()).resolves.toBe(`single sign-on at ${service.idpUrl}`);
      const rule = await db.orm.em.fork().findOneOrFail(GroupMappingRule, { pattern: 'B2E_APP_MANAGEMENT_SUPPORT' });
      const group = page.locator('ul.groups > li', { hasText: 'support' });
      await expect(group.innerText()).resolves.toBe(
        `support\nsingle sign-on: mapping rule #${rule.id} — claim https://gatehouse.dev/ad/groups is B2E_APP_MANAGEMENT_SUPPORT, matched by B2E_APP_MANAGEMENT_SUPPORT at your last single sign-on`,
      );
      await expect(page.locator('ul.permissions > li > strong').allInnerTexts()).resolves.toEqual(['core']);
      await expect(page.locator('ul.permissions code').count()).resolves.toBe(8);

      // Sign out continues at the provider (its confirmation), then returns to the sign-in page.
      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.waitForURL(`${service.idpUrl}/**`);
      await page.getByRole('button', { name: 'Yes, sign me out' }).click();
      await page.waitForURL(`${publicUrl}/login`);
      await page.goto(`${publicUrl}/`);
      expect(new URL(page.url()).pathname).toBe('/login');
      expectClean(tab);
    }));
});
