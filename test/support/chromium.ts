import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Real-browser tests: Debian's Chromium (`apt-get install chromium`, done by `.ci/run`) driven
 * by playwright-core. Never a browser that playwright downloads.
 *
 *   const browser = useChromium();          // launched before the file's tests, closed after
 *   it('…', () => browser.run(async ({ newTab }) => {
 *     const tab = await newTab();           // a fresh profile: its own cookies and storage
 *     await tab.page.goto(`${url}/login`);
 *     …
 *     expect(tab.blocked).toEqual([]);      // nothing left the machine
 *     expect(tab.errors).toEqual([]);       // no script error, no CSP violation
 *   }));
 *
 * When the body throws, every tab it opened is kept as a screenshot in `test-artifacts/`
 * (git-ignored) and the error says where.
 */

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Headless, no sandbox (CI runs as root), and none of Chromium's own traffic: on a machine
 * without internet its background fetches (component updates, sync, QUIC probes) stall it.
 * playwright gives every launch a fresh temporary profile (`--user-data-dir`), removed on close.
 */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const ARTIFACTS_DIR = path.resolve(__dirname, '..', '..', 'test-artifacts');

/** A page in a browser profile of its own. */
export interface BrowserTab {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Requests the page made to any host other than loopback; each was refused. */
  readonly blocked: string[];
  /** Uncaught script errors and console errors (CSP violations among them) of the page. */
  readonly errors: string[];
}

export interface ChromiumHarness {
  /**
   * Runs `body` with `newTab()`, which opens a page in a fresh browser profile (two tabs do not
   * share cookies: two people, or one person on two machines). Afterwards the tabs are closed;
   * if `body` threw, each open tab is first saved as `test-artifacts/<test name>[-n].png` and the
   * error names the files.
   */
  run<T>(body: (browser: { newTab(): Promise<BrowserTab> }) => Promise<T>): Promise<T>;
}

/** Launches Chromium for this test file (in `beforeAll`) and closes it in `afterAll`. */
export function useChromium(): ChromiumHarness {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    run: (body) => {
      if (!browser) throw new Error('Chromium is not running: call useChromium() at the top of a describe block');
      return runInBrowser(browser, expect.getState().currentTestName ?? 'browser test', body);
    },
  };
}

/** Debian's Chromium, headless, with a fresh temporary profile. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH))
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get install chromium), as .ci/run does`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: FLAGS, timeout: 30000 });
}

/** See `ChromiumHarness.run`; `testName` names the screenshots. */
export async function runInBrowser<T>(
  browser: Browser,
  testName: string,
  body: (browser: { newTab(): Promise<BrowserTab> }) => Promise<T>,
): Promise<T> {
  const tabs: BrowserTab[] = [];
  const newTab = async (): Promise<BrowserTab> => {
    const context = await browser.newContext({ serviceWorkers: 'block' });
    context.setDefaultTimeout(10000);
    const tab: BrowserTab = { context, page: await context.newPage(), blocked: [], errors: [] };
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (isLoopback(url)) return route.continue();
      tab.blocked.push(url);
      return route.abort('blockedbyclient');
    });
    await context.routeWebSocket(/.*/, (socket) => {
      if (isLoopback(socket.url())) return socket.connectToServer();
      tab.blocked.push(socket.url());
      return socket.close();
    });
    // Shortened: a refused data: URL alone can fill a screen.
    const note = (text: string) => tab.errors.push(text.length > 300 ? `${text.slice(0, 300)}…` : text);
    tab.page.on('pageerror', (error) => note(`uncaught: ${error.message}`));
    tab.page.on('console', (message) => {
      if (message.type() === 'error') note(message.text());
    });
    tabs.push(tab);
    return tab;
  };
  try {
    return await body({ newTab });
  } catch (error) {
    const files = await screenshots(tabs, testName);
    if (error instanceof Error && files.length) {
      const note = `\n\nscreenshot${files.length > 1 ? 's' : ''} of the browser: ${files.join(', ')}`;
      // jest reports an assertion by its message and any other error by its stack. V8 writes the
      // stack on first read, so it is read before the message changes.
      const { message, stack } = error;
      error.message = message + note;
      if (!('matcherResult' in error) && stack?.includes(message)) error.stack = stack.replace(message, error.message);
    }
    throw error;
  } finally {
    await Promise.all(tabs.map((tab) => tab.context.close().catch(() => undefined)));
  }
}

async function screenshots(tabs: readonly BrowserTab[], testName: string): Promise<string[]> {
  const open = tabs.filter((tab) => !tab.page.isClosed());
  if (!open.length) return [];
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const slug =
    testName
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 120) || 'browser-test';
  const files: string[] = [];
  for (const [index, tab] of open.entries()) {
    const file = path.join(ARTIFACTS_DIR, `${slug}${open.length > 1 ? `-${index + 1}` : ''}.png`);
    try {
      await tab.page.screenshot({ path: file, fullPage: true, timeout: 5000 });
      files.push(path.relative(process.cwd(), file));
    } catch {
      // A page that cannot be drawn any more (crashed, navigating away) leaves no screenshot.
    }
  }
  return files;
}

/** 127.0.0.0/8, ::1 and localhost; `data:` and `blob:` URLs never reach the network. */
function isLoopback(url: string): boolean {
  const parsed = new URL(url);
  if (parsed.protocol === 'data:' || parsed.protocol === 'blob:') return true;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
