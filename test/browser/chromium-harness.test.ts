import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ARTIFACTS_DIR, useChromium } from '../support/chromium';

/** The browser-test harness itself: offline by construction, and a screenshot when a test fails. */
describe('the Chromium test harness', () => {
  const browser = useChromium();
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/app.js') {
        res.setHeader('content-type', 'text/javascript');
        res.end(`document.getElementById('out').textContent = 'script ran';
fetch('https://example.com/track').catch(() => { document.getElementById('fetch').textContent = 'fetch refused'; });`);
        return;
      }
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><title>harness</title><h1>Harness page</h1><p id="out"></p><p id="fetch"></p>
<img src="http://198.51.100.7/pixel.png" alt=""><script src="/app.js"></script>`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('loads loopback pages and refuses every request to another host, recording it', () =>
    browser.run(async ({ newTab }) => {
      const tab = await newTab();
      await tab.page.goto(`${url}/`);
      await tab.page.locator('#fetch', { hasText: 'fetch refused' }).waitFor();
      expect(await tab.page.textContent('#out')).toBe('script ran');
      expect(tab.blocked.sort()).toEqual(['http://198.51.100.7/pixel.png', 'https://example.com/track']);
    }));

  it('gives every tab a profile of its own: cookies set in one are not sent by another', () =>
    browser.run(async ({ newTab }) => {
      const first = await newTab();
      const second = await newTab();
      await first.context.addCookies([{ name: 'who', value: 'first', url }]);
      expect(await first.context.cookies(url)).toHaveLength(1);
      expect(await second.context.cookies(url)).toEqual([]);
    }));

  it('keeps a screenshot in test-artifacts/ when the test body fails and names it in the error', async () => {
    const failure = browser.run(async ({ newTab }) => {
      const tab = await newTab();
      await tab.page.goto(`${url}/`);
      expect(await tab.page.textContent('h1')).toBe('a heading the page does not have');
    });
    const error = await failure.then(
      () => null,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(/Expected: "a heading the page does not have"/);
    const file = /screenshot of the browser: (\S+\.png)/.exec(error?.message ?? '')?.[1];
    expect(file).toBeDefined();
    const absolute = path.resolve(file!);
    expect(path.dirname(absolute)).toBe(ARTIFACTS_DIR);
    try {
      // A PNG of the page: the signature, then a non-trivial image.
      const png = fs.readFileSync(absolute);
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect(png.length).toBeGreaterThan(1000);
    } finally {
      fs.rmSync(absolute, { force: true });
    }
  });
});
