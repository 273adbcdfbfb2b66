import http from 'node:http';
import { clientKey, SSO_ATTEMPT_WINDOW, SSO_ATTEMPTS_PER_CLIENT } from '../../src/sso/attempt-limits';
import { LoginTransaction } from '../../src/sso/login-transaction.entity';
import { Browser } from '../support/browser';
import { startTestServer, type TestServer } from '../support/server';
import { startSsoTestBed, waitUntilSsoReady, type SsoTestBed } from './support/sso-test-bed';

describe('clientKey', () => {
  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['::ffff:c000:207', '192.0.2.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2:aaaa::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['64:ff9b::192.0.2.7', '64:ff9b:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['', 'unknown'],
    ['not an address', 'unknown'],
  ])('counts %j as %j', (address, key) => {
    expect(clientKey(address)).toBe(key);
  });
});

/** GET from a chosen loopback source address (127.0.0.0/8 all reach 127.0.0.1), optionally with a Cookie header. */
function getFrom(localAddress: string, url: string, cookie?: string): Promise<{ status: number; location: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { localAddress, headers: cookie ? { cookie } : {} }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, location: String(response.headers.location ?? '') }));
    });
    request.on('error', reject);
  });
}

describe('GET /oidc/authenticate/ bounds the login transactions it writes', () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed();
  });
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();
  const authenticate = (from: string) => getFrom(from, `${bed.publicUrl}/oidc/authenticate/?next=/graphql`);

  it(`lets one address start ${SSO_ATTEMPTS_PER_CLIENT} attempts per ${SSO_ATTEMPT_WINDOW / 60} minutes, then answers 303 to /login?error=too_many_attempts and writes nothing`, async () => {
    const before = await em().count(LoginTransaction, {});
    for (let i = 0; i < SSO_ATTEMPTS_PER_CLIENT; i++) expect((await authenticate('127.0.0.10')).status).toBe(302);
    expect(await em().count(LoginTransaction, {})).toBe(before + SSO_ATTEMPTS_PER_CLIENT);

    const refused = await authenticate('127.0.0.10');
    expect(refused).toEqual({ status: 303, location: '/login?error=too_many_attempts&next=%2Fgraphql' });
    expect(await em().count(LoginTransaction, {})).toBe(before + SSO_ATTEMPTS_PER_CLIENT);
    const page = await (await fetch(`${bed.publicUrl}${refused.location}`)).text();
    expect(page).toContain('Too many single sign-on attempts from your network. Wait a few minutes');

    // Another address is counted on its own.
    expect((await authenticate('127.0.0.11')).status).toBe(302);
    // The counter is a row of the shared throttle table, expiring with the window.
    const [row] = await em()
      .getConnection()
      .execute<Array<{ points: number; expire: string }>>('select points, expire from auth_login_throttle where key = ?', [
        'sso_attempt:127.0.0.10',
      ]);
    expect(row.points).toBe(SSO_ATTEMPTS_PER_CLIENT + 1);
    expect(Number(row.expire) - Date.now()).toBeGreaterThan((SSO_ATTEMPT_WINDOW - 60) * 1000);
    expect(Number(row.expire) - Date.now()).toBeLessThanOrEqual(SSO_ATTEMPT_WINDOW * 1000);
  });

  it('counts across instances: a second Gatehouse on the same database refuses the same address', async () => {
    let second: TestServer | undefined;
    try {
      second = await startTestServer({ db: bed.server.db, env: { ...bed.env } });
      await waitUntilSsoReady(second.url);
      const before = await em().count(LoginTransaction, {});
      expect(await getFrom('127.0.0.10', `${second.url}/oidc/authenticate/?next=/graphql`)).toEqual({
        status: 303,
        location: '/login?error=too_many_attempts&next=%2Fgraphql',
      });
      expect(await em().count(LoginTransaction, {})).toBe(before);
      expect((await getFrom('127.0.0.12', `${second.url}/oidc/authenticate/?next=/graphql`)).status).toBe(302);
    } finally {
      await second?.stop();
    }
  });

  it('keeps at most 5 attempts per browser: an attempt that loses its place in the state cookie is deleted', async () => {
    const browser = new Browser();
    const states: string[] = [];
    for (let i = 0; i < 8; i++) {
      const response = await browser.get(`${bed.publicUrl}/oidc/authenticate/?next=/graphql`);
      expect(response.status).toBe(302);
      states.push(new URL(response.headers.get('location')!).searchParams.get('state')!);
    }
    const [given, pending] = [states.slice(0, 3), states.slice(3)];
    expect(browser.cookie('gatehouse_oidc_state')!.split('.')).toEqual(pending);
    const stored = (await em().find(LoginTransaction, { state: { $in: states } })).map((t) => t.state);
    expect(stored.sort()).toEqual([...pending].sort());
    expect(given.every((state) => !stored.includes(state))).toBe(true);
  });

  it('ignores a tampered cookie’s extra states beyond what it reads, and never lets it grow past 5', async () => {
    const browser = new Browser();
    const junk = Array.from({ length: 40 }, (_, i) => `junk${String(i).padStart(20, '0')}`);
    browser.setCookie('gatehouse_oidc_state', junk.join('.'));
    const response = await browser.get(`${bed.publicUrl}/oidc/authenticate/?next=/graphql`);
    expect(response.status).toBe(302);
    const cookie = browser.cookie('gatehouse_oidc_state')!.split('.');
    expect(cookie).toHaveLength(5);
    expect(cookie.slice(0, 4)).toEqual(junk.slice(-4));
  });
});
