import { createHmac, generateKeyPairSync } from 'node:crypto';
import { importPKCS8 } from 'jose';
import { LoginTransaction } from '../../src/sso/login-transaction.entity';
import { User } from '../../src/users/user.entity';
import { Browser } from '../support/browser';
import { makeGroup, makeRule } from '../support/factories';
import { startEvilIdp, unsignedJwt, type EvilIdp } from './support/evil-idp';
import { startSsoTestBed, type SsoTestBed } from './support/sso-test-bed';

describe('GET /oidc/callback/ against a real provider: replay, state and issuer faults', () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed();
    await makeRule(bed.server.db.orm.em.fork(), await makeGroup(bed.server.db.orm.em.fork(), ['core.view_tweet']), 'STAFF');
    bed.idp.directory.set('alice', { groups: ['STAFF'] });
  });
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();
  const snapshot = () => bed.server.db.snapshot();

  it('uses a login transaction once: a replayed callback is refused and starts no second session', async () => {
    const { browser, callbackUrl } = await bed.authorize('alice');
    const state = new URL(callbackUrl).searchParams.get('state')!;
    const stateCookie = browser.cookie('gatehouse_oidc_state')!;
    const first = await browser.get(callbackUrl);
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/graphql');
    const before = await snapshot();
    // Even with the browser-binding cookie put back, the transaction is gone.
    browser.setCookie('gatehouse_oidc_state', stateCookie);
    browser.deleteCookie('gatehouse_session');
    const replay = await browser.get(callbackUrl);
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toBe('/login?error=sso_failed');
    expect(replay.headers.get('set-cookie') ?? '').not.toMatch(/gatehouse_session=[^;]/);
    expect(await snapshot()).toEqual(before);
    expect(await em().count(LoginTransaction, { state })).toBe(0);
  });

  it('refuses a tampered state, even one the browser cookie vouches for', async () => {
    const { browser, callbackUrl } = await bed.authorize('alice');
    const tampered = new URL(callbackUrl);
    const forged = 'A'.repeat(43);
    tampered.searchParams.set('state', forged);
    const before = await snapshot();
    expect((await browser.get(tampered.href)).headers.get('location')).toBe('/login?error=sso_failed');
    browser.setCookie('gatehouse_oidc_state', `${browser.cookie('gatehouse_oidc_state')}.${forged}`);
    expect((await browser.get(tampered.href)).headers.get('location')).toBe('/login?error=sso_failed');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a callback this browser did not start (login CSRF with the attacker’s own code)', async () => {
    const { callbackUrl } = await bed.authorize('alice');
    const victim = new Browser();
    const before = await snapshot();
    const response = await victim.get(callbackUrl);
    expect(response.headers.get('location')).toBe('/login?error=sso_failed');
    expect(victim.cookie('gatehouse_session')).toBeUndefined();
    expect(await snapshot()).toEqual(before);
  });

  it('refuses an authorization response whose iss is not the provider (RFC 9207 mix-up)', async () => {
    const { browser, callbackUrl } = await bed.authorize('alice');
    const mixedUp = new URL(callbackUrl);
    expect(mixedUp.searchParams.get('iss')).toBe(bed.idp.issuer);
    mixedUp.searchParams.set('iss', 'http://127.0.0.1:1');
    const before = await snapshot();
    expect((await browser.get(mixedUp.href)).headers.get('location')).toBe('/login?error=sso_failed');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses an expired login transaction', async () => {
    const { browser, callbackUrl } = await bed.authorize('alice');
    const state = new URL(callbackUrl).searchParams.get('state')!;
    await em().nativeUpdate(LoginTransaction, { state }, { expiresAt: new Date(Date.now() - 1000) });
    const before = await snapshot();
    expect((await browser.get(callbackUrl)).headers.get('location')).toBe('/login?error=sso_failed');
    expect(await snapshot()).toEqual(before);
  });

  it('turns a provider error (the person cancelled) into a generic message', async () => {
    const { browser, callbackUrl } = await bed.authorize('alice');
    const url = new URL(callbackUrl);
    url.searchParams.delete('code');
    url.searchParams.set('error', 'access_denied');
    url.searchParams.set('error_description', '<script>alert(1)</script>');
    const response = await browser.get(url.href);
    expect(response.headers.get('location')).toBe('/login?error=sso_failed');
  });
});

describe('GET /oidc/callback/ with a stand-in provider issuing bad ID tokens', () => {
  let bed: SsoTestBed<EvilIdp>;
  let evil: EvilIdp;
  beforeAll(async () => {
    bed = await startSsoTestBed({ provider: startEvilIdp });
    evil = bed.idp;
    await makeRule(bed.server.db.orm.em.fork(), await makeGroup(bed.server.db.orm.em.fork(), ['core.view_tweet']), 'EVIL_GROUP');
  });
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();
  const snapshot = () => bed.server.db.snapshot();

  it('accepts a correct ID token from the stand-in (so the refusals below are the faults’ doing)', async () => {
    evil.mint = (nonce) => evil.idToken(nonce, { sub: 'good-one' });
    const { sessionToken } = await bed.signIn();
    expect(sessionToken).not.toBeNull();
    expect((await bed.me(sessionToken))?.user).toMatchObject({ username: 'good-one' });
  });

  const faults: Array<[string, (nonce: string) => Promise<string>]> = [
    ['a wrong nonce', (_nonce) => evil.idToken('not-the-nonce')],
    [
      'a forged signature (another key, same kid)',
      async (nonce) => {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        const forger = await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'RS256');
        return evil.idToken(nonce, {}, { key: forger });
      },
    ],
    [
      'an unsigned (alg: none) ID token',
      async (nonce) => {
        const now = Math.floor(Date.now() / 1000);
        return unsignedJwt({
          iss: evil.issuer,
          aud: evil.clientId,
          sub: 'mallory',
          iat: now,
          exp: now + 300,
          nonce,
          groups: ['EVIL_GROUP'],
        });
      },
    ],
    [
      'an HS256 ID token keyed with the client secret',
      async (nonce) => {
        const now = Math.floor(Date.now() / 1000);
        const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
        const input = `${part({ alg: 'HS256', kid: 'evil-1' })}.${part({ iss: evil.issuer, aud: evil.clientId, sub: 'mallory', iat: now, exp: now + 300, nonce, groups: ['EVIL_GROUP'] })}`;
        return `${input}.${createHmac('sha256', evil.clientSecret).update(input).digest('base64url')}`;
      },
    ],
    [
      'an expired ID token',
      (nonce) => {
        const now = Math.floor(Date.now() / 1000);
        return evil.idToken(nonce, { iat: now - 3600, exp: now - 1800 });
      },
    ],
    ['an ID token for another client (aud)', (nonce) => evil.idToken(nonce, { aud: 'someone-else' })],
    ['an ID token from another issuer', (nonce) => evil.idToken(nonce, { iss: 'https://other.example' })],
  ];

  it.each(faults)('refuses %s, persisting nothing', async (_name, mint) => {
    evil.mint = mint;
    const before = await snapshot();
    const { response, sessionToken } = await bed.signIn();
    expect(response.headers.get('location')).toBe('/login?error=sso_failed');
    expect(sessionToken).toBeNull();
    expect(await snapshot()).toEqual(before);
    expect(await em().count(User, { username: 'mallory' })).toBe(0);
  });
});
