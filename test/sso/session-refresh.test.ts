import { decodeJwt, decodeProtectedHeader } from 'jose';
import { randomBytes } from 'node:crypto';
import { LogEntry } from '../../src/audit/log-entry.entity';
import { Session } from '../../src/sessions/session.entity';
import { hashToken } from '../../src/sessions/sessions.service';
import { SsoIdentity } from '../../src/sso/sso-identity.entity';
import { UserGroup } from '../../src/users/user-group.entity';
import { MeDocument } from '../generated/graphql';
import { makeGroup, makeRule } from '../support/factories';
import { logged } from '../support/logs';
import { startTestServer } from '../support/server';
import { startEvilIdp, type EvilIdp } from './support/evil-idp';
import { startSsoTestBed, type SsoTestBed } from './support/sso-test-bed';
import { startTestIdp } from './support/test-idp';

const KEY = randomBytes(32).toString('base64');

describe('session refresh at the provider (refresh tokens, SSO_REFRESH_INTERVAL)', () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed({
      provider: (client) => startTestIdp({ ...client, refreshTokens: true }),
      env: { SESSION_ENCRYPTION_KEY: KEY, SSO_REFRESH_GRACE: '600' },
      logs: true,
    });
    const em = bed.server.db.orm.em.fork();
    await makeRule(em, await makeGroup(em, ['core.view_tweet'], 'tweet-readers'), 'STAFF');
    await makeRule(em, await makeGroup(em, ['core.view_language'], 'language-readers'), 'LINGUISTS');
  });
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();
  const sessionOf = (token: string | null) =>
    em().findOneOrFail(Session, { tokenHash: hashToken(token!) }, { populate: ['idToken', 'refreshToken'] });
  /** Time passes: the session is due for refresh (as SSO_REFRESH_INTERVAL after its last one). */
  const makeDue = async (token: string | null, agoMs = 1000) =>
    em().nativeUpdate(Session, { tokenHash: hashToken(token!) }, { refreshDueAt: new Date(Date.now() - agoMs) });
  const refreshes = () => bed.idp.grants.filter((g) => g.endsWith('refresh_token'));

  it('keeps the refresh token encrypted (a dir/A256GCM JWE) and schedules the first refresh SSO_REFRESH_INTERVAL later', async () => {
    bed.idp.directory.set('ada', { groups: ['STAFF'] });
    const signedInAt = Date.now();
    const { sessionToken } = await bed.signIn('ada');
    const session = await sessionOf(sessionToken);
    expect(session.refreshToken).toMatch(/^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(decodeProtectedHeader(session.refreshToken!)).toMatchObject({ alg: 'dir', enc: 'A256GCM' });
    expect(session.refreshDueAt!.getTime()).toBeGreaterThanOrEqual(signedInAt + 900_000 - 1000);
    expect(session.refreshDueAt!.getTime()).toBeLessThanOrEqual(Date.now() + 900_000);
    expect(session.refreshingUntil).toBeNull();
  });

  it('costs a session that is not due no statement and no call to the provider', async () => {
    bed.idp.directory.set('ada', { groups: ['STAFF'] });
    const { sessionToken } = await bed.signIn('ada');
    const password = await bed.server.signIn(await em().findOneOrFail('User', { username: 'ada' }));
    const before = refreshes().length;
    bed.server.resetQueries();
    await bed.server.graphql(MeDocument, {}, password);
    const passwordStatements = bed.server.queries.length;
    bed.server.resetQueries();
    expect((await bed.server.graphql(MeDocument, {}, sessionToken)).data?.me?.permissions).toEqual(['core.view_tweet']);
    expect(bed.server.queries).toHaveLength(passwordStatements);
    expect(refreshes().length).toBe(before);
  });

  it('when due, refreshes on the next request: new claims re-mapped to groups, new tokens kept, the next refresh scheduled, audited as a change', async () => {
    bed.idp.directory.set('bea', { groups: ['STAFF'], given_name: 'Bea' });
    const { sessionToken } = await bed.signIn('bea');
    const before = await sessionOf(sessionToken);
    expect((await bed.me(sessionToken))?.permissions).toEqual(['core.view_tweet']);

    // The directory moves her from STAFF to LINGUISTS and renames her; time passes.
    bed.idp.directory.set('bea', { groups: ['LINGUISTS'], given_name: 'Beatrix' });
    await makeDue(sessionToken);
    const refreshesBefore = refreshes().length;
    const me = await bed.me(sessionToken);
    expect(me?.permissions).toEqual(['core.view_language']);
    expect(me?.user.firstName).toBe('Beatrix');
    expect(refreshes().length).toBe(refreshesBefore + 1);

    const after = await sessionOf(sessionToken);
    expect(after.refreshDueAt!.getTime()).toBeGreaterThan(Date.now() + 890_000);
    expect(after.refreshingUntil).toBeNull();
    expect(after.idToken).not.toBe(before.idToken);
    expect(decodeJwt(after.idToken!)).toMatchObject({ sub: 'bea', iss: bed.idp.issuer, aud: bed.idp.clientId });
    const identity = await em().findOneOrFail(SsoIdentity, { subject: 'bea' });
    expect(identity.lastClaims).toMatchObject({ groups: ['LINGUISTS'] });
    const [entry] = await em().find(
      LogEntry,
      { appLabel: 'sso', model: 'login', objectId: String(identity.user.id) },
      { orderBy: { id: 'desc' }, limit: 1 },
    );
    expect(entry.changeMessage).toEqual([
      {
        sso_login: expect.objectContaining({
          outcome: 'allowed',
          via: 'refresh',
          groupsAdded: ['language-readers'],
          groupsRemoved: ['tweet-readers'],
        }),
      },
    ]);
    // Refreshed once: the next requests use the session as it is.
    await bed.me(sessionToken);
    expect(refreshes().length).toBe(refreshesBefore + 1);
  });

  it('a refresh whose claims no longer map refuses that very request and revokes: rule memberships removed, every session ended', async () => {
    bed.idp.directory.set('cal', { groups: ['STAFF'] });
    const first = await bed.signIn('cal');
    const second = await bed.signIn('cal');
    bed.idp.directory.set('cal', { groups: ['SOMEWHERE_ELSE'] });
    await makeDue(first.sessionToken);
    expect(await bed.me(first.sessionToken)).toBeNull();
    expect(await bed.me(second.sessionToken)).toBeNull();
    const identity = await em().findOneOrFail(SsoIdentity, { subject: 'cal' });
    expect(await em().count(Session, { user: identity.user.id })).toBe(0);
    expect(await em().count(UserGroup, { user: identity.user.id })).toBe(0);
    const [entry] = await em().find(
      LogEntry,
      { appLabel: 'sso', model: 'login', objectId: String(identity.user.id) },
      { orderBy: { id: 'desc' }, limit: 1 },
    );
    expect(entry.changeMessage).toEqual([
      {
        sso_login: expect.objectContaining({
          outcome: 'refused',
          reason: 'access_not_granted',
          via: 'refresh',
          groupsRemoved: ['tweet-readers'],
          sessionsEnded: 2,
        }),
      },
    ]);
  });

  it('a refresh the provider refuses (invalid_grant: the user is gone from the directory) ends the session on that request', async () => {
    bed.idp.directory.set('dee', { groups: ['STAFF'] });
    const { sessionToken } = await bed.signIn('dee');
    const other = await bed.signIn('dee');
    bed.idp.directory.delete('dee');
    await makeDue(sessionToken);
    expect(await bed.me(sessionToken)).toBeNull();
    expect(bed.idp.grants.at(-1)).toBe('refused:refresh_token');
    expect(await em().count(Session, { tokenHash: hashToken(sessionToken!) })).toBe(0);
    expect(logged(bed.server.logs, 'session refresh refused by the identity provider; session ended').text).toMatch(/invalid_grant/);
    // The other session is refused at its own next refresh, not before.
    expect(await bed.me(other.sessionToken)).toMatchObject({ user: { username: 'dee' } });
    await makeDue(other.sessionToken);
    expect(await bed.me(other.sessionToken)).toBeNull();
  });

  it('never refreshes one session twice at a time, across requests and instances: the others go on with the session as it is', async () => {
    bed.idp.directory.set('eve', { groups: ['STAFF'] });
    const { sessionToken } = await bed.signIn('eve');
    const second = await startTestServer({ db: bed.server.db, env: { ...bed.env } });
    try {
      await makeDue(sessionToken);
      const before = refreshes().length;
      bed.idp.tokenDelayMs = 300;
      const graphql = [bed.server.graphql, second.graphql];
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => graphql[i % 2](MeDocument, {}, sessionToken!)));
      for (const result of results) expect(result.data?.me?.user?.username).toBe('eve');
      expect(refreshes().length).toBe(before + 1);
    } finally {
      bed.idp.tokenDelayMs = 0;
      await second.stop();
    }
  });

  it('a provider outage signs nobody out: the session goes on within SSO_REFRESH_GRACE (logged, retried at most once a minute), and ends past it', async () => {
    bed.idp.directory.set('fay', { groups: ['STAFF'] });
    const { sessionToken } = await bed.signIn('fay');
    await makeDue(sessionToken);
    await bed.idp.takeDown();
    try {
      expect(await bed.me(sessionToken)).toMatchObject({ user: { username: 'fay' } });
      expect(
        logged(bed.server.logs, 'session refresh: identity provider unavailable; the session goes on within its grace period').records,
      ).not.toHaveLength(0);
      const deferred = await sessionOf(sessionToken);
      expect(deferred.refreshingUntil!.getTime()).toBeGreaterThan(Date.now() + 50_000);
      // Meanwhile its requests cost nothing extra.
      bed.server.resetQueries();
      expect(await bed.me(sessionToken)).not.toBeNull();
      expect(bed.server.queries.some((sql) => /refreshing_until/.test(sql) && /^update/i.test(sql))).toBe(false);

      // The grace period (600 s here) runs out while the provider is still down.
      await em().nativeUpdate(Session, { id: deferred.id }, { refreshDueAt: new Date(Date.now() - 601_000), refreshingUntil: null });
      expect(await bed.me(sessionToken)).toBeNull();
      expect(await em().count(Session, { id: deferred.id })).toBe(0);
      expect(
        logged(bed.server.logs, 'session refresh: identity provider unavailable past the grace period; session ended').records,
      ).not.toHaveLength(0);
    } finally {
      await bed.idp.bringUp();
    }
  });

  it('a session whose refresh token was sealed under another SESSION_ENCRYPTION_KEY ends at its refresh', async () => {
    bed.idp.directory.set('gus', { groups: ['STAFF'] });
    const { sessionToken } = await bed.signIn('gus');
    const rotated = await startTestServer({
      db: bed.server.db,
      env: { ...bed.env, SESSION_ENCRYPTION_KEY: randomBytes(32).toString('hex') },
      logs: true,
    });
    try {
      await makeDue(sessionToken);
      const result = await rotated.graphql(MeDocument, {}, sessionToken!);
      expect(result.data?.me).toBeNull();
      expect(
        logged(rotated.logs, 'session refresh: the refresh token cannot be decrypted (SESSION_ENCRYPTION_KEY changed?); session ended')
          .text,
      ).toMatch(/another SESSION_ENCRYPTION_KEY/);
    } finally {
      await rotated.stop();
    }
  });
});

describe('session refresh without SESSION_ENCRYPTION_KEY', () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed({ provider: (client) => startTestIdp({ ...client, refreshTokens: true }), logs: true });
    const em = bed.server.db.orm.em.fork();
    await makeRule(em, await makeGroup(em, ['core.view_tweet']), 'STAFF');
  });
  afterAll(() => bed?.stop());

  it('keeps no refresh token (never in clear), schedules no refresh, and says so once', async () => {
    bed.idp.directory.set('hal', { groups: ['STAFF'] });
    await bed.signIn('hal');
    const { sessionToken } = await bed.signIn('hal');
    const session = await bed.server.db.orm.em
      .fork()
      .findOneOrFail(Session, { tokenHash: hashToken(sessionToken!) }, { populate: ['refreshToken'] });
    expect(session.refreshToken).toBeNull();
    expect(session.refreshDueAt).toBeNull();
    expect(
      logged(
        bed.server.logs,
        'single sign-on: SESSION_ENCRYPTION_KEY is unset, so refresh tokens are not kept and sessions are not refreshed at the provider (back-channel logout still works)',
      ).records,
    ).toHaveLength(1);
    expect(
      logged(
        bed.server.logs,
        'single sign-on: the provider issues refresh tokens but SESSION_ENCRYPTION_KEY is unset; they are discarded and sessions are not refreshed',
      ).records,
    ).toHaveLength(1);
  });
});

/**
 * What no real provider can be made to return on a refresh — an ID token about someone else
 * (OIDC Core §12.2), a 5xx, a refused client — from the stand-in of evil-idp.ts.
 */
describe('session refresh against a provider that answers wrongly', () => {
  let bed: SsoTestBed<EvilIdp>;
  beforeAll(async () => {
    bed = await startSsoTestBed({ provider: startEvilIdp, env: { SESSION_ENCRYPTION_KEY: KEY }, logs: true });
    bed.idp.refreshTokens = true;
    const em = bed.server.db.orm.em.fork();
    await makeRule(em, await makeGroup(em, ['core.view_tweet']), 'EVIL_GROUP');
  });
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();
  const defaultRefresh = () => bed.idp.onRefresh;
  let restore: EvilIdp['onRefresh'];
  beforeEach(() => {
    restore = defaultRefresh();
  });
  afterEach(() => {
    bed.idp.onRefresh = restore;
  });
  const dueSession = async () => {
    const { sessionToken } = await bed.signIn('mallory');
    expect(sessionToken).not.toBeNull();
    await em().nativeUpdate(Session, { tokenHash: hashToken(sessionToken!) }, { refreshDueAt: new Date(Date.now() - 1000) });
    return sessionToken!;
  };
  const answerRefresh = (claims: Record<string, unknown>) => {
    bed.idp.onRefresh = async () => ({
      status: 200,
      body: {
        access_token: 'at-2',
        token_type: 'Bearer',
        expires_in: 300,
        id_token: await bed.idp.idToken('', { nonce: undefined, ...claims }),
      },
    });
  };

  it('accepts a refreshed ID token about the same person (same iss, sub, aud, azp)', async () => {
    const token = await dueSession();
    expect(await bed.me(token)).toMatchObject({ user: { username: 'mallory' } });
    const session = await em().findOneOrFail(Session, { tokenHash: hashToken(token) });
    expect(session.refreshDueAt!.getTime()).toBeGreaterThan(Date.now() + 800_000);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a different sub', { sub: 'someone-else' }, /differs from the original in sub/],
    ['an azp the original did not have', { azp: 'gatehouse-evil' }, /differs from the original in azp/],
    ['an added audience', { aud: ['gatehouse-evil', 'another-client'], azp: 'gatehouse-evil' }, /differs from the original in aud, azp/],
    ['another issuer', { iss: 'https://evil.example' }, /failed a check/],
  ])('ends the session when the refreshed ID token has %s (OIDC Core §12.2)', async (_name, claims, detail) => {
    const token = await dueSession();
    answerRefresh(claims);
    const logsBefore = bed.server.logs.length;
    expect(await bed.me(token)).toBeNull();
    expect(await em().count(Session, { tokenHash: hashToken(token) })).toBe(0);
    expect(logged(bed.server.logs.slice(logsBefore), 'session refresh refused by the identity provider; session ended').text).toMatch(
      detail,
    );
  });

  it('keeps the session when the provider returns no new ID token (and has no userinfo): the grant is alive, the groups stay', async () => {
    const token = await dueSession();
    bed.idp.onRefresh = async () => ({ status: 200, body: { access_token: 'at-3', token_type: 'Bearer', expires_in: 300 } });
    expect(await bed.me(token)).toMatchObject({ user: { username: 'mallory' }, permissions: ['core.view_tweet'] });
    const session = await em().findOneOrFail(Session, { tokenHash: hashToken(token) });
    expect(session.refreshDueAt!.getTime()).toBeGreaterThan(Date.now() + 800_000);
  });

  it.each<[string, number, Record<string, unknown>]>([
    ['answers 503', 503, { error: 'temporarily_unavailable' }],
    ['answers 500 without an OAuth error', 500, { message: 'oops' }],
    ['refuses Gatehouse’s own client (invalid_client: configuration, not the person)', 401, { error: 'invalid_client' }],
  ])('treats a provider that %s as unavailable: the session goes on within its grace period', async (_name, status, body) => {
    const token = await dueSession();
    bed.idp.onRefresh = async () => ({ status, body });
    expect(await bed.me(token)).toMatchObject({ user: { username: 'mallory' } });
    const session = await em().findOneOrFail(Session, { tokenHash: hashToken(token) });
    expect(session.refreshingUntil!.getTime()).toBeGreaterThan(Date.now());
  });
});
