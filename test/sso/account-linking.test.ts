import { LogEntry } from '../../src/audit/log-entry.entity';
import { Session } from '../../src/sessions/session.entity';
import { SsoIdentity } from '../../src/sso/sso-identity.entity';
import { User } from '../../src/users/user.entity';
import {
  LinkIdentityDocument as LINK,
  MeDocument as ME,
  SsoIdentitiesDocument as IDENTITIES,
  UnlinkIdentityDocument as UNLINK,
} from '../generated/graphql';
import { Browser } from '../support/browser';
import { makeGroup, makeRule, makeUser, type UserSpec } from '../support/factories';
import { onlyError } from '../support/graphql-client';
import { freePort } from '../support/ports';
import { startTestServer, type TestServer } from '../support/server';
import { writtenSince } from '../support/snapshot';
import { startSsoTestBed, waitUntilSsoReady, type SsoTestBed } from './support/sso-test-bed';
import { startTestIdp, type TestIdp } from './support/test-idp';
import { globalIdOf, keyOf } from '../support/global-ids';

const AUDIENCE = 'https://gatehouse.test/api';
const MAPPED = 'EMPLOYEES';

/** A local account with `email`, as an admin (or createsuperuser) would have made it. */
async function localAccount(bed: SsoTestBed, email: string, spec: UserSpec = {}): Promise<User> {
  const em = bed.server.db.orm.em.fork();
  const user = await makeUser(em, spec);
  await em.nativeUpdate(User, { id: user.id }, { email });
  return user;
}

/** A whole code-flow sign-in at `publicUrl` as whoever the provider signs in next. */
async function signInAt(publicUrl: string): Promise<{ location: string; sessionToken: string | null }> {
  const browser = new Browser();
  const callback = `${publicUrl}/oidc/callback/`;
  const followed = await browser.follow(`${publicUrl}/oidc/authenticate/?next=/graphql`, (u) => !u.href.startsWith(callback));
  if (!followed.next) throw new Error(`the flow did not reach the callback: ${followed.url} answered ${followed.response.status}`);
  const response = await browser.get(followed.next);
  return { location: response.headers.get('location') ?? '', sessionToken: browser.cookie('gatehouse_session') ?? null };
}

async function lastSignInAudit(bed: SsoTestBed): Promise<Record<string, unknown>> {
  const [entry] = await bed.server.db.orm.em
    .fork()
    .find(LogEntry, { appLabel: 'sso', model: 'login' }, { orderBy: { id: 'desc' }, limit: 1 });
  return (entry.changeMessage[0] as { sso_login: Record<string, unknown> }).sso_login;
}

const bearerClaims = (bed: SsoTestBed, sub: string, email: string) => {
  const now = Math.floor(Date.now() / 1000);
  return { iss: bed.idp.issuer, aud: AUDIENCE, sub, iat: now, exp: now + 300, groups: [MAPPED], email, email_verified: true };
};

describe('single sign-on never takes over an account by e-mail: SSO_LINK_BY_EMAIL off (the default)', () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed({ env: { OIDC_API_AUDIENCE: AUDIENCE } });
    await makeRule(bed.server.db.orm.em.fork(), await makeGroup(bed.server.db.orm.em.fork(), ['core.view_tweet']), MAPPED);
  });
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();

  it('a provider user claiming a superuser’s verified e-mail gets an account of its own, and the superuser is untouched', async () => {
    const root = await localAccount(bed, 'root@example.com', { isSuperuser: true, isStaff: true });
    bed.idp.directory.set('mallory', { email: 'ROOT@example.com', email_verified: true, groups: [MAPPED] });
    const { response, sessionToken } = await bed.signIn('mallory');
    expect(response.headers.get('location')).toBe('/graphql');
    expect((await bed.me(sessionToken))?.user).toMatchObject({ username: 'mallory', isSuperuser: false });
    expect(await em().count(SsoIdentity, { user: root.id })).toBe(0);
    expect(await lastSignInAudit(bed)).toMatchObject({ outcome: 'allowed', reason: 'created' });
  });

  it('a bearer JWT claiming a superuser’s verified e-mail is not that superuser', async () => {
    const root = await localAccount(bed, 'root2@example.com', { isSuperuser: true, isStaff: true });
    const token = await bed.idp.sign(bearerClaims(bed, 'mallory-api', 'root2@example.com'));
    expect((await bed.server.graphql(ME, {}, token)).data?.me?.user.username).toBe('mallory-api');
    expect(await em().count(SsoIdentity, { user: root.id })).toBe(0);
  });
});

describe('SSO_LINK_BY_EMAIL=true: a first sign-in links only to an unprivileged, never-linked account alone with its e-mail', () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed({ env: { OIDC_API_AUDIENCE: AUDIENCE, SSO_LINK_BY_EMAIL: 'true' } });
    await makeRule(bed.server.db.orm.em.fork(), await makeGroup(bed.server.db.orm.em.fork(), ['core.view_tweet']), MAPPED);
  });
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();

  it('links to an active account with no password, no identity, not staff or superuser, alone with that e-mail (case-insensitive)', async () => {
    const local = await localAccount(bed, 'Linus@Example.com', { username: 'local-linus' });
    bed.idp.directory.set('linus-sub', { email: 'linus@example.com', email_verified: true, groups: [MAPPED] });
    const { sessionToken } = await bed.signIn('linus-sub');
    expect((await bed.me(sessionToken))?.user).toMatchObject({ username: 'local-linus' });
    expect(await em().count(User, { username: 'linus-sub' })).toBe(0);
    expect(await em().count(SsoIdentity, { user: local.id, subject: 'linus-sub', issuer: bed.idp.issuer })).toBe(1);
    expect(await lastSignInAudit(bed)).toMatchObject({ outcome: 'allowed', reason: 'linked' });
  });

  it.each<[string, UserSpec, boolean]>([
    ['a superuser', { isSuperuser: true, isStaff: true }, false],
    ['a staff member', { isStaff: true }, false],
    ['an account with a password', { password: 'not-a-real-hash-but-a-usable-password' }, false],
    ['an inactive account', { isActive: false }, false],
    ['an account already linked to an identity', {}, true],
  ])('refuses with account_conflict, audited, to link to %s, and writes nothing else', async (what, spec, linked) => {
    const email = `target-${what.replace(/\W+/g, '-')}@example.com`;
    const target = await localAccount(bed, email, spec);
    if (linked) {
      const e = em();
      e.create(SsoIdentity, { user: target.id, issuer: bed.idp.issuer, subject: `first-${target.id}` });
      await e.flush();
    }
    const sub = `attacker-${target.id}`;
    bed.idp.directory.set(sub, { email, email_verified: true, groups: [MAPPED] });
    const before = await bed.server.db.snapshot();
    const { response, sessionToken } = await bed.signIn(sub);
    expect(response.headers.get('location')).toBe('/login?error=account_conflict');
    expect(sessionToken).toBeNull();
    expect(writtenSince(before, await bed.server.db.snapshot())).toEqual({ admin_logentry: 1 });
    expect(await lastSignInAudit(bed)).toMatchObject({ outcome: 'refused', reason: 'account_conflict', subject: sub });
  });

  it('refuses with account_conflict when two accounts share the e-mail, rather than pick one or add a third', async () => {
    for (const username of ['twin-a', 'twin-b']) await localAccount(bed, 'twin@example.com', { username });
    bed.idp.directory.set('twin-sub', { email: 'twin@example.com', email_verified: true, groups: [MAPPED] });
    const before = await bed.server.db.snapshot();
    const { response } = await bed.signIn('twin-sub');
    expect(response.headers.get('location')).toBe('/login?error=account_conflict');
    expect(writtenSince(before, await bed.server.db.snapshot())).toEqual({ admin_logentry: 1 });
  });

  it('does not link by an unverified e-mail: a new user is created, without that e-mail', async () => {
    const local = await localAccount(bed, 'uma@example.com', { username: 'local-uma' });
    bed.idp.directory.set('uma-sub', { email: 'uma@example.com', email_verified: false, groups: [MAPPED] });
    const { sessionToken } = await bed.signIn('uma-sub');
    expect((await bed.me(sessionToken))?.user).toMatchObject({ username: 'uma-sub', email: '' });
    expect(await em().count(SsoIdentity, { user: local.id })).toBe(0);
  });

  it('a bearer JWT claiming a superuser’s verified e-mail signs nobody in and writes nothing', async () => {
    const root = await localAccount(bed, 'root@example.com', { isSuperuser: true, isStaff: true });
    const token = await bed.idp.sign(bearerClaims(bed, 'mallory-api', 'root@example.com'));
    const before = await bed.server.db.snapshot();
    expect((await bed.server.graphql(ME, {}, token)).data).toEqual({ me: null });
    expect(await bed.server.db.snapshot()).toEqual(before);
    expect(await em().count(SsoIdentity, { user: root.id })).toBe(0);
  });

  it('a bearer JWT links like a sign-in to an eligible account', async () => {
    await localAccount(bed, 'api-user@example.com', { username: 'local-api-user' });
    const token = await bed.idp.sign(bearerClaims(bed, 'api-sub', 'api-user@example.com'));
    expect((await bed.server.graphql(ME, {}, token)).data?.me?.user.username).toBe('local-api-user');
  });

  describe('never across issuers', () => {
    let idpB: TestIdp;
    let gatehouseB: TestServer;
    let publicUrlB: string;
    beforeAll(async () => {
      const port = await freePort();
      publicUrlB = `http://127.0.0.1:${port}`;
      idpB = await startTestIdp({ redirectUri: `${publicUrlB}/oidc/callback/`, postLogoutRedirectUri: `${publicUrlB}/login` });
      // A second Gatehouse on the same database, signing in through another provider (a migration between providers, say).
      gatehouseB = await startTestServer({
        db: bed.server.db,
        env: {
          PORT: String(port),
          PUBLIC_URL: publicUrlB,
          OIDC_ISSUER: idpB.issuer,
          OIDC_CLIENT_ID: idpB.clientId,
          OIDC_CLIENT_SECRET: idpB.clientSecret,
          SSO_LINK_BY_EMAIL: 'true',
        },
      });
      await waitUntilSsoReady(publicUrlB);
    });
    afterAll(async () => {
      await gatehouseB?.stop();
      await idpB?.stop();
    });

    it('refuses a second issuer’s user claiming the e-mail of an account linked at the first', async () => {
      const local = await localAccount(bed, 'grace@example.com', { username: 'local-grace' });
      bed.idp.directory.set('grace-a', { email: 'grace@example.com', email_verified: true, groups: [MAPPED] });
      const first = await bed.signIn('grace-a');
      expect((await bed.me(first.sessionToken))?.user.username).toBe('local-grace');

      idpB.directory.set('grace-b', { email: 'grace@example.com', email_verified: true, groups: [MAPPED] });
      idpB.nextLogin = 'grace-b';
      const before = await bed.server.db.snapshot();
      const second = await signInAt(publicUrlB);
      expect(second).toEqual({ location: '/login?error=account_conflict', sessionToken: null });
      expect(writtenSince(before, await bed.server.db.snapshot())).toEqual({ admin_logentry: 1 });
      expect(await em().count(SsoIdentity, { user: local.id })).toBe(1);
    });
  });
});

describe('linkIdentity and unlinkIdentity', () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed();
    await makeRule(bed.server.db.orm.em.fork(), await makeGroup(bed.server.db.orm.em.fork(), ['core.view_tweet']), MAPPED);
  });
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();

  it('refuses a caller without sso.add_identity (even holding auth.change_user) with FORBIDDEN, writing nothing', async () => {
    const admin = await bed.server.signInWith(['auth.change_user', 'auth.view_user']);
    const target = await makeUser(em());
    const before = await bed.server.db.snapshot();
    const error = onlyError(
      await bed.server.graphql(LINK, { userId: String(target.id), issuer: bed.idp.issuer, subject: 'someone' }, admin.token),
    );
    expect(error.extensions).toEqual({ code: 'FORBIDDEN', permission: 'sso.add_identity' });
    expect(await bed.server.db.snapshot()).toEqual(before);
  });

  it('lets a superuser attach an identity to an existing account (even one with a password), audited; the person then signs in as it', async () => {
    const root = await bed.server.signInAsSuperuser();
    const ada = await localAccount(bed, 'ada@example.com', { username: 'local-ada', password: 'a-usable-password-hash' });
    const result = await bed.server.graphql(LINK, { userId: String(ada.id), issuer: bed.idp.issuer, subject: 'ada-sub' }, root.token);
    expect(result.data?.linkIdentity).toEqual({
      id: expect.any(String),
      userId: globalIdOf(ada),
      issuer: bed.idp.issuer,
      subject: 'ada-sub',
    });
    const [entry] = await em().find(LogEntry, { appLabel: 'sso', model: 'identity' }, { orderBy: { id: 'desc' }, limit: 1 });
    expect(entry).toMatchObject({ actionFlag: 1, objectRepr: `ada-sub at ${bed.idp.issuer} → local-ada` });
    expect(entry.user?.id).toBe(root.user.id);

    bed.idp.directory.set('ada-sub', { groups: [MAPPED] });
    const { sessionToken } = await bed.signIn('ada-sub');
    expect((await bed.me(sessionToken))?.user.username).toBe('local-ada');
    expect((await bed.server.graphql(IDENTITIES, { userId: String(ada.id) }, root.token)).data?.ssoIdentities).toEqual([
      { id: result.data!.linkIdentity.id, issuer: bed.idp.issuer, subject: 'ada-sub' },
    ]);
  });

  it('refuses bad input with BAD_USER_INPUT naming the argument, an unknown user with NOT_FOUND, writing nothing', async () => {
    const root = await bed.server.signInAsSuperuser();
    const target = await makeUser(em());
    const before = await bed.server.db.snapshot();
    const attempt = (userId: string, issuer: string, subject: string) =>
      bed.server.graphql(LINK, { userId, issuer, subject }, root.token).then((r) => onlyError(r).extensions);
    expect(await attempt(String(target.id), 'not a url', 'someone')).toEqual({ code: 'BAD_USER_INPUT', field: 'issuer' });
    expect(await attempt(String(target.id), 'https://idp.example.com/?x=1', 'someone')).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'issuer',
    });
    expect(await attempt(String(target.id), bed.idp.issuer, '')).toEqual({ code: 'BAD_USER_INPUT', field: 'subject' });
    expect(await attempt(String(target.id), bed.idp.issuer, 'x'.repeat(256))).toEqual({ code: 'BAD_USER_INPUT', field: 'subject' });
    expect(await attempt('999999999', bed.idp.issuer, 'someone')).toEqual({ code: 'NOT_FOUND', id: '999999999' });
    expect(onlyError(await bed.server.graphql(UNLINK, { id: '999999999' }, root.token)).extensions).toEqual({
      code: 'NOT_FOUND',
      id: '999999999',
    });
    expect(await bed.server.db.snapshot()).toEqual(before);
  });

  it('refuses an identity already linked with CONFLICT naming subject', async () => {
    const root = await bed.server.signInAsSuperuser();
    const [a, b] = [await makeUser(em()), await makeUser(em())];
    await bed.server.graphql(LINK, { userId: String(a.id), issuer: bed.idp.issuer, subject: 'shared-sub' }, root.token);
    const before = await bed.server.db.snapshot();
    const error = onlyError(
      await bed.server.graphql(LINK, { userId: String(b.id), issuer: bed.idp.issuer, subject: 'shared-sub' }, root.token),
    );
    expect(error.extensions).toEqual({ code: 'CONFLICT', field: 'subject' });
    expect(await bed.server.db.snapshot()).toEqual(before);
  });

  it('unlinks, audited, ending the account’s single sign-on sessions', async () => {
    const root = await bed.server.signInAsSuperuser();
    const user = await makeUser(em(), { username: 'to-unlink' });
    const linked = await bed.server.graphql(LINK, { userId: String(user.id), issuer: bed.idp.issuer, subject: 'unlink-sub' }, root.token);
    bed.idp.directory.set('unlink-sub', { groups: [MAPPED] });
    const { sessionToken } = await bed.signIn('unlink-sub');
    expect((await bed.me(sessionToken))?.user.username).toBe('to-unlink');

    const id = linked.data!.linkIdentity.id;
    expect((await bed.server.graphql(UNLINK, { id }, root.token)).data).toEqual({ unlinkIdentity: { deletedId: id } });
    expect(await em().count(SsoIdentity, { user: user.id })).toBe(0);
    expect(await em().count(Session, { user: user.id })).toBe(0);
    expect(await bed.me(sessionToken)).toBeNull();
    const [entry] = await em().find(
      LogEntry,
      { appLabel: 'sso', model: 'identity', objectId: keyOf(id) },
      { orderBy: { id: 'desc' }, limit: 1 },
    );
    expect(entry.actionFlag).toBe(3);
  });

  it('a non-superuser a superuser delegated the permission to may not hand over an account holding more than it does', async () => {
    const delegate = await bed.server.signInWith(['sso.add_identity', 'sso.delete_identity', 'core.view_tweet']);
    const root = await makeUser(em(), { isSuperuser: true, isStaff: true });
    const powerful = await makeUser(em(), { perms: ['auth.change_user', 'core.view_tweet'] });
    const before = await bed.server.db.snapshot();
    for (const [target, lacking] of [
      [root, 'auth.add_group'],
      [powerful, 'auth.change_user'],
    ] as const) {
      const error = onlyError(
        await bed.server.graphql(
          LINK,
          { userId: String(target.id), issuer: bed.idp.issuer, subject: `delegate-${target.id}` },
          delegate.token,
        ),
      );
      expect(error.extensions).toMatchObject({ code: 'FORBIDDEN', rule: 'grantBeyondOwn', field: 'userId' });
      expect(error.extensions.permissions).toContain(lacking);
    }
    expect(await bed.server.db.snapshot()).toEqual(before);
    const modest = await makeUser(em(), { perms: ['core.view_tweet'] });
    const allowed = await bed.server.graphql(
      LINK,
      { userId: String(modest.id), issuer: bed.idp.issuer, subject: 'modest-sub' },
      delegate.token,
    );
    expect(allowed.errors).toBeUndefined();
  });
});
