import { LogEntry } from '../../src/audit/log-entry.entity';
import { seedReferenceGroups } from '../../src/groups/seed';
import { Session } from '../../src/sessions/session.entity';
import { seedReferenceRules } from '../../src/sso/seed-rules';
import { SsoIdentity } from '../../src/sso/sso-identity.entity';
import { Group } from '../../src/groups/group.entity';
import { MembershipSource, UserGroup } from '../../src/users/user-group.entity';
import { User } from '../../src/users/user.entity';
import { makeGroup, makeRule, makeUser } from '../support/factories';
import { writtenSince } from '../support/snapshot';
import { startSsoTestBed, type SsoTestBed } from './support/sso-test-bed';

const SUPPORT_PERMISSIONS = [
  'core.add_language',
  'core.add_tweet',
  'core.change_language',
  'core.change_tweet',
  'core.delete_language',
  'core.delete_tweet',
  'core.view_language',
  'core.view_tweet',
];

describe('single sign-on: GET /oidc/authenticate/ → provider → GET /oidc/callback/', () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed();
    const em = bed.server.db.orm.em.fork();
    await seedReferenceGroups(em);
    await seedReferenceRules(em);
  });
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();

  it('redirects to the provider with the code flow, PKCE S256, state and nonce, and records one attempt', async () => {
    const response = await fetch(`${bed.publicUrl}/oidc/authenticate/?next=/graphql`, {
      redirect: 'manual',
      headers: { host: 'evil.example' },
    });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(`${bed.idp.issuer}/auth`);
    const params = Object.fromEntries(location.searchParams);
    expect(params).toMatchObject({
      response_type: 'code',
      client_id: bed.idp.clientId,
      // From PUBLIC_URL, never from the Host header.
      redirect_uri: `${bed.publicUrl}/oidc/callback/`,
      scope: 'openid profile email',
      code_challenge_method: 'S256',
    });
    expect(params.state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rows = await em()
      .getConnection()
      .execute('select next, expires_at, created_at from sso_login_transaction where state = ?', [params.state]);
    expect(rows).toHaveLength(1);
    expect(new Date(rows[0].expires_at).getTime() - new Date(rows[0].created_at).getTime()).toBe(10 * 60 * 1000);
  });

  it('signs a mapped employee in: session cookie, 303 to next, and `me` shows the mapped group’s permissions', async () => {
    bed.idp.directory.set('carl', {
      email: 'carl@example.com',
      email_verified: true,
      given_name: 'Carl',
      family_name: 'Sagan',
      groups: ['B2E_APP_MANAGEMENT_SUPPORT', 'UNRELATED'],
    });
    const { response, sessionToken } = await bed.signIn('carl', '/graphql?from=sso');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/graphql?from=sso');
    expect(response.headers.get('set-cookie')).toMatch(/gatehouse_session=[A-Za-z0-9_-]{43}; .*HttpOnly/i);
    const result = await bed.me(sessionToken);
    expect(result).toEqual({
      user: {
        id: expect.any(String),
        username: 'carl',
        email: 'carl@example.com',
        firstName: 'Carl',
        lastName: 'Sagan',
        isStaff: true,
        isSuperuser: false,
      },
      permissions: SUPPORT_PERMISSIONS,
    });
    const user = await em().findOneOrFail(User, { username: 'carl' }, { populate: ['password'] });
    expect(user.password).toBeNull();
    const identity = await em().findOneOrFail(SsoIdentity, { user: user.id });
    expect(identity.issuer).toBe(bed.idp.issuer);
    expect(identity.subject).toBe('carl');
    expect(identity.lastClaims).toMatchObject({ sub: 'carl', groups: ['B2E_APP_MANAGEMENT_SUPPORT', 'UNRELATED'] });
    expect(JSON.stringify(identity.lastClaims)).not.toMatch(/eyJ/); // claims only, never a token
    const session = await em().findOneOrFail(Session, { user: user.id }, { populate: ['idToken'] });
    expect(session.authMethod).toBe('oidc');
    expect(session.idToken).toMatch(/^eyJ/);
    const memberships = await em().find(UserGroup, { user: user.id }, { populate: ['group'] });
    expect(memberships.map((m) => [m.group.name, m.source])).toEqual([['support', MembershipSource.SSO_RULE]]);
    const audit = await em().find(LogEntry, { appLabel: 'sso', model: 'login', objectId: String(user.id) });
    expect(audit).toHaveLength(1);
    expect(audit[0].changeMessage).toEqual([
      {
        sso_login: expect.objectContaining({
          outcome: 'allowed',
          reason: 'created',
          groupsAdded: ['support'],
          groupsRemoved: [],
          rulesMatched: [expect.objectContaining({ value: 'B2E_APP_MANAGEMENT_SUPPORT', group: 'support' })],
          claimsDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
        }),
      },
    ]);
  });

  it('refuses a person no rule maps with "access not granted": no user, identity or session, only the audit entry', async () => {
    bed.idp.directory.set('nobody', { email: 'nobody@example.com', email_verified: true, groups: ['SOMETHING_ELSE'] });
    const before = await bed.server.db.snapshot();
    const { response, sessionToken } = await bed.signIn('nobody');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?error=access_not_granted');
    expect(sessionToken).toBeNull();
    expect(await em().count(User, { username: 'nobody' })).toBe(0);
    expect(writtenSince(before, await bed.server.db.snapshot())).toEqual({ admin_logentry: 1 });
    const [entry] = await em().find(LogEntry, { appLabel: 'sso', model: 'login' }, { orderBy: { id: 'desc' }, limit: 1 });
    expect(entry.user).toBeNull();
    expect(entry.changeMessage).toEqual([
      { sso_login: expect.objectContaining({ outcome: 'refused', reason: 'access_not_granted', subject: 'nobody', rulesMatched: [] }) },
    ]);
    const page = await (await fetch(`${bed.publicUrl}${response.headers.get('location')}`)).text();
    expect(page).toContain('Access not granted');
  });

  it.each([
    ['missing', undefined],
    ['empty', []],
    ['not_a_string_list', ['B2E_APP_MANAGEMENT_SUPPORT', 42]],
  ])('fails closed when the groups claim is %s, and says which in the audit entry', async (problem, groups) => {
    const sub = `broken-${problem}`;
    bed.idp.directory.set(sub, groups === undefined ? { email_verified: false } : { groups });
    const { response } = await bed.signIn(sub);
    expect(response.headers.get('location')).toBe('/login?error=access_not_granted');
    expect(await em().count(User, { username: sub })).toBe(0);
    const [entry] = await em().find(LogEntry, { appLabel: 'sso', model: 'login' }, { orderBy: { id: 'desc' }, limit: 1 });
    expect(entry.changeMessage).toEqual([
      { sso_login: expect.objectContaining({ outcome: 'refused', subject: sub, groupsClaimProblem: problem }) },
    ]);
  });

  it('refreshes names and rule-granted groups at every sign-in, keeping groups an admin assigned', async () => {
    bed.idp.directory.set('ann', {
      given_name: 'Ann',
      family_name: 'Druyan',
      groups: ['B2E_APP_MANAGEMENT_VIEWER', 'B2E_APP_MANAGEMENT_BUSINESS'],
    });
    await bed.signIn('ann');
    const ann = await em().findOneOrFail(User, { username: 'ann' });
    const handPicked = await makeGroup(em(), ['auth.view_user'], 'hand-picked');
    const developer = await em().findOneOrFail(Group, { name: 'developer' });
    // An admin adds Ann to `hand-picked` and, by hand, to `developer` (also reachable by a rule).
    const adminEm = em();
    adminEm.create(UserGroup, { user: ann.id, group: handPicked.id, source: MembershipSource.ADMIN });
    adminEm.create(UserGroup, { user: ann.id, group: developer.id, source: MembershipSource.ADMIN });
    await adminEm.flush();

    // The directory renames her and moves her from VIEWER+BUSINESS to SUPPORT.
    bed.idp.directory.set('ann', { given_name: 'Annie', family_name: 'Sagan', groups: ['B2E_APP_MANAGEMENT_SUPPORT'] });
    const { sessionToken } = await bed.signIn('ann');
    const result = await bed.me(sessionToken);
    expect(result?.user).toMatchObject({ firstName: 'Annie', lastName: 'Sagan' });
    const memberships = await em().find(UserGroup, { user: ann.id }, { populate: ['group'], orderBy: { group: { name: 'asc' } } });
    expect(memberships.map((m) => `${m.group.name}:${m.source}`).sort()).toEqual([
      'developer:admin',
      'hand-picked:admin',
      'support:sso_rule',
    ]);
    const [entry] = await em().find(
      LogEntry,
      { appLabel: 'sso', model: 'login', objectId: String(ann.id) },
      { orderBy: { id: 'desc' }, limit: 1 },
    );
    expect(entry.changeMessage).toEqual([
      {
        sso_login: expect.objectContaining({
          outcome: 'allowed',
          reason: 'existing',
          groupsAdded: ['support'],
          groupsRemoved: ['business', 'viewer'],
        }),
      },
    ]);

    // Removed from every mapped directory group: refused, which revokes — the rule-granted
    // membership goes and her sessions end, in the transaction of the audit entry — while the
    // groups an admin assigned are untouched.
    bed.idp.directory.set('ann', { given_name: 'Annie', family_name: 'Sagan', groups: [] });
    expect(await em().count(Session, { user: ann.id })).toBe(2);
    const refused = await bed.signIn('ann');
    expect(refused.response.headers.get('location')).toBe('/login?error=access_not_granted');
    const left = await em().find(UserGroup, { user: ann.id }, { populate: ['group'] });
    expect(left.map((m) => m.group.name).sort()).toEqual(['developer', 'hand-picked']);
    expect(await em().count(Session, { user: ann.id })).toBe(0);
    expect(await bed.me(sessionToken)).toBeNull();
    const [revocation] = await em().find(
      LogEntry,
      { appLabel: 'sso', model: 'login', objectId: String(ann.id) },
      { orderBy: { id: 'desc' }, limit: 1 },
    );
    expect(revocation.user).toBeNull();
    expect(revocation.changeMessage).toEqual([
      {
        sso_login: expect.objectContaining({
          outcome: 'refused',
          reason: 'access_not_granted',
          groupsRemoved: ['support'],
          sessionsEnded: 2,
        }),
      },
    ]);
  });

  it('never grants isSuperuser or changes isStaff of an existing account from claims', async () => {
    bed.idp.directory.set('eve', { groups: ['B2E_APP_MANAGEMENT_VIEWER'], is_superuser: true, isSuperuser: true });
    const { sessionToken } = await bed.signIn('eve');
    expect((await bed.me(sessionToken))?.user).toMatchObject({ isSuperuser: false, isStaff: true });
  });

  it('refuses a disabled user, starting no session and revoking what single sign-on gave', async () => {
    bed.idp.directory.set('dora', { groups: ['B2E_APP_MANAGEMENT_VIEWER'] });
    await bed.signIn('dora');
    const dora = await em().findOneOrFail(User, { username: 'dora' });
    await em().nativeUpdate(User, { id: dora.id }, { isActive: false });
    const sessionsBefore = await em().count(Session, {});
    const before = await bed.server.db.snapshot();
    const { response, sessionToken } = await bed.signIn('dora');
    expect(response.headers.get('location')).toBe('/login?error=account_disabled');
    expect(sessionToken).toBeNull();
    // Her one session ended and her rule membership went, with the audit entry; nothing else was written.
    expect(await em().count(Session, {})).toBe(sessionsBefore - 1);
    expect(await em().count(Session, { user: dora.id })).toBe(0);
    expect(await em().count(UserGroup, { user: dora.id })).toBe(0);
    expect(writtenSince(before, await bed.server.db.snapshot())).toEqual({ admin_logentry: 1, auth_session: -1, auth_user_groups: -1 });
  });

  it('refuses, rather than attaches, when a local user already has the sub as username', async () => {
    await makeUser(em(), { username: 'taken-name' });
    bed.idp.directory.set('taken-name', { groups: ['B2E_APP_MANAGEMENT_VIEWER'], email: 'x@example.com', email_verified: false });
    const before = await bed.server.db.snapshot();
    const { response } = await bed.signIn('taken-name');
    expect(response.headers.get('location')).toBe('/login?error=account_conflict');
    expect(writtenSince(before, await bed.server.db.snapshot())).toEqual({ admin_logentry: 1 });
  });

  // With SSO_LINK_BY_EMAIL (off here, the default) a first sign-in may link to an existing
  // account by e-mail: account-linking.test.ts. Off, it never does.
  describe('linking a first sign-in to an existing account (SSO_LINK_BY_EMAIL off)', () => {
    it('does not link by a verified e-mail that exactly one active user has: a new user is created', async () => {
      const local = await makeUser(em(), { username: 'local-linus' });
      await em().nativeUpdate(User, { id: local.id }, { email: 'Linus@Example.com' });
      bed.idp.directory.set('linus-sub', { email: 'linus@example.com', email_verified: true, groups: ['B2E_APP_MANAGEMENT_VIEWER'] });
      const { sessionToken } = await bed.signIn('linus-sub');
      expect((await bed.me(sessionToken))?.user).toMatchObject({ username: 'linus-sub' });
      expect(await em().count(SsoIdentity, { user: local.id })).toBe(0);
    });

    it('does not link by an unverified e-mail: a new user is created, without that e-mail', async () => {
      const local = await makeUser(em(), { username: 'local-uma' });
      await em().nativeUpdate(User, { id: local.id }, { email: 'uma@example.com' });
      bed.idp.directory.set('uma-sub', { email: 'uma@example.com', email_verified: false, groups: ['B2E_APP_MANAGEMENT_VIEWER'] });
      const { sessionToken } = await bed.signIn('uma-sub');
      expect((await bed.me(sessionToken))?.user).toMatchObject({ username: 'uma-sub', email: '' });
      expect(await em().count(SsoIdentity, { user: local.id })).toBe(0);
    });

    it('does not link when two active users share the e-mail', async () => {
      for (const username of ['twin-a', 'twin-b']) {
        const twin = await makeUser(em(), { username });
        await em().nativeUpdate(User, { id: twin.id }, { email: 'twin@example.com' });
      }
      bed.idp.directory.set('twin-sub', { email: 'twin@example.com', email_verified: true, groups: ['B2E_APP_MANAGEMENT_VIEWER'] });
      const { sessionToken } = await bed.signIn('twin-sub');
      expect((await bed.me(sessionToken))?.user).toMatchObject({ username: 'twin-sub' });
    });
  });

  it('maps through a rule on another claim (e-mail glob) even without a groups claim', async () => {
    const group = await makeGroup(em(), ['core.view_tweet'], 'by-domain');
    const rule = await makeRule(em(), group, '*@sagan.example');
    await em().nativeUpdate('GroupMappingRule', { id: rule.id }, { claim: 'email', matchType: 'GLOB' });
    bed.idp.directory.set('dom', { email: 'dom@sagan.example', email_verified: true });
    const { sessionToken } = await bed.signIn('dom');
    expect((await bed.me(sessionToken))?.permissions).toEqual(['core.view_tweet']);
    await em().nativeDelete('GroupMappingRule', { id: rule.id });
  });
});
