import http from 'node:http';
import { clientKey, MAX_PENDING_PER_CLIENT } from '../../src/sso/attempt-limits';
import { LoginTransaction } from '../../src/sso/login-transaction.entity';
import { Browser } from '../support/browser';
import { makeGroup, makeRule } from '../support/factories';
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

describe('GET /oidc/authenticate/ bounds the login transactions it stores, and never refuses', () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed({ logs: true });
    const em = bed.server.db.orm.em.fork();
    await makeRule(em, await makeGroup(em, ['core.view_tweet']), 'STAFF');
    bed.idp.directory.set('neighbour', { groups: ['STAFF'] });
  });
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();
  const authenticate = (from: string, base = bed.publicUrl) => getFrom(from, `${base}/oidc/authenticate/?next=/graphql`);
  const storedFor = (key: string) => em().count(LoginTransaction, { clientKey: key });

  it(`keeps at most ${MAX_PENDING_PER_CLIENT} attempts per address, dropping the oldest, and refuses none`, async () => {
    const flood = MAX_PENDING_PER_CLIENT + 30;
    const first = await authenticate('127.0.0.10');
    expect(first.status).toBe(302);
    const firstState = new URL(first.location).searchParams.get('state')!;
    for (let i = 1; i < flood; i++) expect((await authenticate('127.0.0.10')).status).toBe(302);
    expect(await storedFor('127.0.0.10')).toBe(MAX_PENDING_PER_CLIENT);
    expect(await em().count(LoginTransaction, { state: firstState })).toBe(0);
    // Another address is bounded on its own.
    expect((await authenticate('127.0.0.11')).status).toBe(302);
    expect(await storedFor('127.0.0.11')).toBe(1);
  });

  it('lets a person behind an address that just made hundreds of anonymous attempts sign in', async () => {
    // The attack found on main: 30 anonymous requests from an address refused single sign-on to
    // everyone behind it for 5 minutes. The test bed's browser signs in from 127.0.0.1.
    for (let i = 0; i < MAX_PENDING_PER_CLIENT + 30; i++) expect((await authenticate('127.0.0.1')).status).toBe(302);
    const { response, sessionToken } = await bed.signIn('neighbour');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/graphql');
    expect((await bed.me(sessionToken))?.permissions).toEqual(['core.view_tweet']);
  });

  it('bounds across instances: a second Gatehouse on the same database keeps the same address to the same bound', async () => {
    let second: TestServer | undefined;
    try {
      second = await startTestServer({ db: bed.server.db, env: { ...bed.env } });
      await waitUntilSsoReady(second.url);
      for (let i = 0; i < 20; i++) expect((await authenticate('127.0.0.10', i % 2 ? second.url : bed.publicUrl)).status).toBe(302);
      expect(await storedFor('127.0.0.10')).toBe(MAX_PENDING_PER_CLIENT);
    } finally {
      await second?.stop();
    }
  });

  it('warns once, naming TRUST_PROXY, when requests arrive through a proxy it does not trust', async () => {
    const warning = () => bed.server.logs.filter((r) => typeof r.msg === 'string' && r.msg.includes('TRUST_PROXY is false'));
    expect(warning()).toHaveLength(0);
    for (let i = 0; i < 3; i++) await fetch(`${bed.publicUrl}/healthz`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(warning()).toHaveLength(1);
    expect(warning()[0]).toMatchObject({ level: 40, setting: 'TRUST_PROXY' });
    expect(warning()[0].msg).toMatch(/Set TRUST_PROXY to the proxy's address or hop count \(e\.g\. TRUST_PROXY=127\.0\.0\.1\)/);
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
