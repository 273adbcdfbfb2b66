import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { createHmac, randomUUID } from 'node:crypto';
import { LogEntry, LogEvent } from '../../src/audit/log-entry.entity';
import { AuthMethod, Session } from '../../src/sessions/session.entity';
import { hashToken } from '../../src/sessions/sessions.service';
import { BACKCHANNEL_LOGOUT_EVENT } from '../../src/sso/backchannel-logout';
import { SeenLogoutToken } from '../../src/sso/logout-token.entity';
import { User } from '../../src/users/user.entity';
import { makeGroup, makeRule } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';
import { signOutAtProvider } from './support/provider-logout';
import { startSsoTestBed, type SsoTestBed } from './support/sso-test-bed';
import { startTestIdp } from './support/test-idp';

const EVENTS = { [BACKCHANNEL_LOGOUT_EVENT]: {} };

describe('POST /oidc/backchannel-logout/ (OpenID Connect Back-Channel Logout 1.0)', () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed({
      provider: (client) => startTestIdp({ ...client, backchannelLogoutUri: client.backchannelLogoutUri }),
    });
    const em = bed.server.db.orm.em.fork();
    await makeRule(em, await makeGroup(em, ['core.view_tweet']), 'STAFF');
    for (const sub of ['lou', 'max', 'ned', 'ora', 'pam']) bed.idp.directory.set(sub, { groups: ['STAFF'] });
  });
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();
  const now = () => Math.floor(Date.now() / 1000);

  /** A logout token as the provider signs them (its key, `typ: logout+jwt`), over `claims`. */
  const logoutToken = (claims: JWTPayload = {}) =>
    bed.idp.sign(
      { iss: bed.idp.issuer, aud: bed.idp.clientId, iat: now(), exp: now() + 120, jti: randomUUID(), events: EVENTS, ...claims },
      { typ: 'logout+jwt' },
    );
  const post = (body: string, contentType = 'application/x-www-form-urlencoded') =>
    fetch(`${bed.publicUrl}/oidc/backchannel-logout/`, { method: 'POST', headers: { 'content-type': contentType }, body });
  const deliver = (token: string) => post(new URLSearchParams({ logout_token: token }).toString());
  const sessionOf = (sessionToken: string | null) =>
    em().findOneOrFail(Session, { tokenHash: hashToken(sessionToken!) }, { populate: ['idToken'] });

  it('records the provider’s sid with each session, as the ID token carries it', async () => {
    const { sessionToken } = await bed.signIn('lou');
    const session = await sessionOf(sessionToken);
    const sid = decodeJwt(session.idToken!).sid;
    expect(typeof sid).toBe('string');
    expect(session.providerSid).toBe(sid);
    expect(session.authMethod).toBe(AuthMethod.OIDC);
  });

  it('a sign-out at the provider ends the Gatehouse session it started — that one only, by its sid — through the provider’s own POST', async () => {
    const first = await bed.signIn('max');
    const second = await bed.signIn('max');
    expect((await sessionOf(first.sessionToken)).providerSid).not.toBe((await sessionOf(second.sessionToken)).providerSid);
    const deliveries = bed.idp.backchannelDeliveries.length;

    await signOutAtProvider(first.browser, bed.idp.issuer);

    expect(bed.idp.backchannelDeliveries.slice(deliveries)).toEqual([expect.objectContaining({ ok: true, sub: 'max' })]);
    expect(await bed.me(first.sessionToken)).toBeNull();
    expect(await bed.me(second.sessionToken)).toMatchObject({ user: { username: 'max' } });
  });

  it('ends only that person’s session when the token has both sid and sub', async () => {
    const lou = await bed.signIn('lou');
    const ned = await bed.signIn('ned');
    const louSid = (await sessionOf(lou.sessionToken)).providerSid!;
    // Ned's sub with Lou's sid names no session: nothing ends.
    expect((await deliver(await logoutToken({ sub: 'ned', sid: louSid }))).status).toBe(200);
    expect(await bed.me(lou.sessionToken)).not.toBeNull();
    expect(await bed.me(ned.sessionToken)).not.toBeNull();
    const response = await deliver(await logoutToken({ sub: 'lou', sid: louSid }));
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await bed.me(lou.sessionToken)).toBeNull();
    expect(await bed.me(ned.sessionToken)).not.toBeNull();
  });

  it('without a sid ends every single sign-on session of the person the sub names, and no password session', async () => {
    const one = await bed.signIn('ora');
    const two = await bed.signIn('ora');
    const ora = await em().findOneOrFail(User, { username: 'ora' });
    const password = await bed.server.signIn(ora);
    const response = await deliver(await logoutToken({ sub: 'ora' }));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
    expect(await bed.me(one.sessionToken)).toBeNull();
    expect(await bed.me(two.sessionToken)).toBeNull();
    expect(await bed.me(password)).toMatchObject({ user: { username: 'ora' } });
    // The admin log records the sign-out once for the person, with how many sessions it ended.
    const signOuts = await em().find(LogEntry, { event: LogEvent.SIGN_OUT, user: ora.id });
    expect(signOuts.map((e) => e.changeMessage)).toEqual([
      [{ sign_out: { scope: 'provider', via: 'provider', authMethod: 'oidc', sessionsEnded: 2 } }],
    ]);
  });

  it('answers 200 for a token naming nobody known, ending nothing', async () => {
    const sessions = await em().count(Session, {});
    expect((await deliver(await logoutToken({ sub: 'never-signed-in' }))).status).toBe(200);
    expect((await deliver(await logoutToken({ sid: 'unknown-sid' }))).status).toBe(200);
    expect(await em().count(Session, {})).toBe(sessions);
  });

  it('refuses a replayed token with 400, and it stays refused by another instance on the same database', async () => {
    const { sessionToken } = await bed.signIn('pam');
    const token = await logoutToken({ sub: 'pam' });
    expect((await deliver(token)).status).toBe(200);
    expect(await bed.me(sessionToken)).toBeNull();
    const again = await bed.signIn('pam');

    const replay = await deliver(token);
    expect(replay.status).toBe(400);
    expect(replay.headers.get('cache-control')).toBe('no-store');
    expect(await replay.json()).toEqual({
      error: 'invalid_request',
      error_description: 'the logout token was used before (its jti is replayed)',
    });

    const other: TestServer = await startTestServer({ db: bed.server.db, env: { ...bed.env } });
    try {
      const elsewhere = await fetch(`${other.url}/oidc/backchannel-logout/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }).toString(),
      });
      expect(elsewhere.status).toBe(400);
    } finally {
      await other.stop();
    }
    expect(await bed.me(again.sessionToken)).toMatchObject({ user: { username: 'pam' } });
    const seen = await em().findOneOrFail(SeenLogoutToken, { jti: decodeJwt(token).jti! });
    // Remembered for as long as the token could be accepted: its age limit (5 minutes) and the clock tolerance.
    expect(seen.expiresAt.getTime()).toBeGreaterThan(Date.now() + 4 * 60_000);
    expect(seen.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 7 * 60_000);
  });

  describe('refuses, with 400, a JSON error naming the problem, and nothing written or ended,', () => {
    let other: Awaited<ReturnType<typeof generateKeyPair>>;
    beforeAll(async () => {
      other = await generateKeyPair('RS256', { extractable: true });
    });
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const payload = (extra: Record<string, unknown> = {}) => ({
      iss: bed.idp.issuer,
      aud: bed.idp.clientId,
      iat: now(),
      exp: now() + 120,
      jti: randomUUID(),
      events: EVENTS,
      sub: 'lou',
      ...extra,
    });
    const without = (name: string) => {
      const claims: Record<string, unknown> = payload();
      delete claims[name];
      return bed.idp.sign(claims, { typ: 'logout+jwt' });
    };

    it.each<[string, () => Promise<string>, RegExp]>([
      [
        'a token signed with another key under the provider’s kid (forged)',
        async () =>
          new SignJWT(payload()).setProtectedHeader({ alg: 'RS256', kid: 'test-key-1', typ: 'logout+jwt' }).sign(other.privateKey),
        /failed verification/,
      ],
      [
        'a token signed with a key the provider does not publish',
        async () => {
          const jwk = await exportJWK(other.publicKey);
          return new SignJWT(payload())
            .setProtectedHeader({ alg: 'RS256', kid: 'attacker', jwk, typ: 'logout+jwt' })
            .sign(other.privateKey);
        },
        /failed verification/,
      ],
      ['alg: none', async () => `${part({ alg: 'none', typ: 'logout+jwt' })}.${part(payload())}.`, /failed verification/],
      [
        'HS256 keyed with the provider’s public key (algorithm confusion)',
        async () => {
          const input = `${part({ alg: 'HS256', kid: 'test-key-1' })}.${part(payload())}`;
          return `${input}.${createHmac('sha256', JSON.stringify(bed.idp.publicJwk)).update(input).digest('base64url')}`;
        },
        /failed verification/,
      ],
      ['an expired token', () => logoutToken({ sub: 'lou', iat: now() - 600, exp: now() - 480 }), /failed verification/],
      [
        'a token issued too long ago (iat), even without exp',
        () => bed.idp.sign(payload({ iat: now() - 600, exp: undefined }), { typ: 'logout+jwt' }),
        /failed verification/,
      ],
      ['a token issued in the future', () => logoutToken({ sub: 'lou', iat: now() + 600, exp: now() + 720 }), /failed verification/],
      ['a token without iat', () => without('iat'), /failed verification/],
      ['a wrong audience', () => logoutToken({ sub: 'lou', aud: 'another-client' }), /failed verification/],
      ['a wrong issuer', () => logoutToken({ sub: 'lou', iss: 'https://evil.example' }), /failed verification/],
      ['a token with a nonce (an ID token)', () => logoutToken({ sub: 'lou', nonce: 'n-0S6_WzA2Mj' }), /carries a nonce/],
      ['a token without events', () => without('events'), /no events claim/],
      [
        'events without the back-channel logout member',
        () => logoutToken({ sub: 'lou', events: { 'http://schemas.openid.net/event/other': {} } }),
        /no events claim/,
      ],
      [
        'a back-channel logout event that is not an object',
        () => logoutToken({ sub: 'lou', events: { [BACKCHANNEL_LOGOUT_EVENT]: true } }),
        /no events claim/,
      ],
      ['neither sid nor sub', () => without('sub'), /neither sid nor sub/],
      ['a sub that is not a string', () => logoutToken({ sub: 42 as unknown as string }), /sub is not a string/],
      ['no jti', () => without('jti'), /failed verification/],
      [
        'an ID token',
        () =>
          bed.idp.sign(
            { iss: bed.idp.issuer, aud: bed.idp.clientId, sub: 'lou', iat: now(), exp: now() + 60, nonce: 'abc', jti: randomUUID() },
            { typ: 'JWT' },
          ),
        /no events claim/,
      ],
      ['not a JWT', async () => 'not-a-jwt', /failed verification/],
    ])('%s', async (_name, make, description) => {
      const { sessionToken } = await bed.signIn('lou');
      const token = await make();
      const before = await bed.server.db.snapshot();
      const response = await deliver(token);
      expect(response.status).toBe(400);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const body = (await response.json()) as { error: string; error_description: string };
      expect(body.error).toBe('invalid_request');
      expect(body.error_description).toMatch(description);
      expect(await bed.server.db.snapshot()).toEqual(before);
      expect(await bed.me(sessionToken)).toMatchObject({ user: { username: 'lou' } });
    });

    it.each([
      ['no body', '', 'application/x-www-form-urlencoded'],
      ['a JSON body', JSON.stringify({ logout_token: 'x.y.z' }), 'application/json'],
      ['logout_token twice', 'logout_token=a.b.c&logout_token=d.e.f', 'application/x-www-form-urlencoded'],
    ])('%s', async (_name, body, contentType) => {
      const response = await post(body, contentType);
      expect(response.status).toBe(400);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(await response.json()).toEqual({
        error: 'invalid_request',
        error_description: 'logout_token is missing (send it form-encoded)',
      });
    });
  });
});
