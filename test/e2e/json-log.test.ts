/**
 * `npm start`'s output is JSON lines only, for a log collector to read: the service runs as
 * `npm start` runs it (development, built-in identity provider; a fresh PostgreSQL database
 * instead of the embedded one, for speed), at LOG_LEVEL=debug so that every line anything writes
 * shows, while a person signs in through single sign-on in a real browser. Library notices
 * (oidc-provider's "Unsupported runtime" among them) arrive as JSON log lines, not plain text.
 */
import { useChromium } from '../support/chromium';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { signInThroughDevIdp } from '../support/dev-idp-sign-in';
import { startGatehouseProcess, type GatehouseProcess } from '../support/gatehouse-process';

describe('the service’s output, from start-up through a single sign-on to the stop', () => {
  const browser = useChromium();
  let db: TestDatabase;
  let service: GatehouseProcess;

  beforeAll(async () => {
    db = await createTestDatabase({ poolMax: 1 });
    service = await startGatehouseProcess({ NODE_ENV: 'development', DATABASE_URL: db.url, LOG_LEVEL: 'debug' });
  });
  afterAll(async () => {
    await service?.stop(2000);
    await db?.drop();
  });

  it('is JSON lines on stdout and nothing on stderr, library notices included', async () => {
    const publicUrl = `http://localhost:${service.port}`;
    await browser.run(async ({ newTab }) => {
      // One person is refused (in no mapped group), another signed in and opens the explorer.
      const refused = (await newTab()).page;
      await refused.goto(`${publicUrl}/login`);
      await signInThroughDevIdp(refused, service.idpUrl, 'edwin.hubble', 'redshift');
      expect(new URL(refused.url()).searchParams.get('error')).toBe('access_not_granted');
      const { page } = await newTab();
      await page.goto(`${publicUrl}/login?next=%2Fgraphiql`);
      await signInThroughDevIdp(page, service.idpUrl, 'carl.sagan', 'cosmos');
      await page.locator('.graphiql-query-editor').waitFor();
    });
    expect(await service.stop()).toEqual({ code: 0, signal: null });

    const lines = service.stdout().split('\n');
    expect(lines.pop()).toBe('');
    const notJson = lines.filter((line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        return typeof entry.level !== 'number' || typeof entry.time !== 'number' || typeof entry.msg !== 'string';
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    expect(service.stderr()).toBe('');

    const entries = lines.map((line) => JSON.parse(line) as { level: number; msg: string; source?: string });
    expect(entries).toContainEqual(
      expect.objectContaining({
        level: 20,
        source: 'oidc-provider',
        msg: 'Unsupported runtime. Use Node.js v22.x LTS, or a later LTS release.',
      }),
    );
    expect(entries.map((entry) => entry.msg)).toEqual(
      expect.arrayContaining(['Gatehouse is ready', 'single sign-on refused', 'single sign-on allowed', 'shutting down', 'stopped']),
    );
  });
});
