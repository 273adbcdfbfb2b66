/**
 * The explorer works without internet, in a real browser: the service runs as `npm start` runs
 * it (development, built-in identity provider; a fresh PostgreSQL database instead of the
 * embedded one, for speed), Chromium signs in through single sign-on as Carl Sagan, opens
 * `/graphiql`, runs `{ me { user { username } } }` and reads the answer from the page. Every
 * request the pages make to a host other than loopback is refused and fails the test.
 */
import { useChromium } from '../support/chromium';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { signInThroughDevIdp } from '../support/dev-idp-sign-in';
import { startGatehouseProcess, type GatehouseProcess } from '../support/gatehouse-process';

const QUERY = '{ me { user { username } } }';

describe('GraphiQL at /graphiql, served by Gatehouse, in Chromium', () => {
  const browser = useChromium();
  let db: TestDatabase;
  let service: GatehouseProcess;
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

  it('signs in through single sign-on, runs a query as carl.sagan and shows the answer, with no request off the machine', () =>
    browser.run(async ({ newTab }) => {
      const { page, blocked, errors } = await newTab();

      // Signed out, the explorer sends the browser to sign in, and sign-in returns to it.
      await page.goto(`${publicUrl}/graphiql`);
      expect(new URL(page.url()).pathname).toBe('/login');
      await signInThroughDevIdp(page, service.idpUrl, 'carl.sagan', 'cosmos');
      expect(page.url()).toBe(`${publicUrl}/graphiql`);

      // GraphiQL has loaded the schema (introspection through the session cookie).
      const editor = page.locator('.graphiql-query-editor .CodeMirror');
      await editor.waitFor();
      await page.getByRole('button', { name: /Show Documentation Explorer/i }).click();
      await page.locator('.graphiql-doc-explorer').getByText('Query', { exact: true }).first().waitFor();

      // Replace the query as a person would: select everything in the editor and type.
      await editor.click();
      await page.keyboard.press('Control+A');
      await page.keyboard.insertText(QUERY);
      await page.getByRole('button', { name: /Execute query/i }).click();

      const response = page.locator('.graphiql-response');
      await response.getByText('"carl.sagan"').waitFor();
      // The text on the screen (CodeMirror draws indentation with no-break spaces).
      const shown = JSON.parse((await response.locator('.CodeMirror-code').innerText()).replace(/\u00a0/g, ' '));
      expect(shown).toEqual({ data: { me: { user: { username: 'carl.sagan' } } } });

      expect(blocked).toEqual([]);
      expect(errors).toEqual([]);
    }));
});
