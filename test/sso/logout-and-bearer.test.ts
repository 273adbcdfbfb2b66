import { createHmac } from 'node:crypto';
import { LogEntry } from '../../src/audit/log-entry.entity';
import { Session } from '../../src/sessions/session.entity';
import { UserGroup } from '../../src/users/user-group.entity';
import { User } from '../../src/users/user.entity';
import { makeGroup, makeRule, makeUser } from '../support/factories';
import { LogoutDocument, LogoutUrlDocument, MeDocument as ME, MySessionsDocument } from '../generated/graphql';
import { startSsoTestBed, type SsoTestBed } from './support/sso-test-bed';

const AUDIENCE = 'https://gatehouse.test/api';

describe('logout of a single sign-on session', () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed({ env: { OIDC_API_AUDIENCE: AUDIENCE } });
    await makeRule(
      bed.server.db.orm.em.fork(),
      await makeGroup(bed.server.db.orm.em.fork(), ['core.view_tweet', 'core.view_language']),
      'STAFF',
    );
    bed.idp.directory.set('lou', { groups: ['STAFF'], given_name: 'Lou' });
  });
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();

  it('POST /oidc/logout/ ends the session, then 303s to end_session_endpoint with id_token_hint and post_logout_redirect_uri', async () => {
    const { browser, sessionToken } = await bed.signIn('lou');
    const session = await em().findOneOrFail(
      Session,
      { user: { username: 'lou' } },
      { populate: ['idToken'], orderBy: { createdAt: 'desc' } },
    );
    const response = await browser.request(`${bed.publicUrl}/oidc/logout/`, { method: 'POST', headers: { origin: bed.publicUrl } });
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(`${bed.idp.issuer}/session/end`);
    expect(location.searchParams.get('id_token_hint')).toBe(session.idToken);
    expect(location.searchParams.get('post_logout_redirect_uri')).toBe(`${bed.publicUrl}/login`);
    expect(await em().count(Session, { id: session.id })).toBe(0);
    expect(browser.cookie('gatehouse_session')).toBeUndefined();
    expect(await bed.me(sessionToken)).toBeNull();
    // The real provider accepts the request (it shows its logout confirmation).
    const atProvider = await browser.get(location.href);
    expect(atProvider.status).toBe(200);
  });

  it('POST /oidc/logout/ from another origin is refused and the session survives', async () => {
    const { browser, sessionToken } = await bed.signIn('lou');
    const response = await browser.request(`${bed.publicUrl}/oidc/logout/`, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
    });
    expect(response.status).toBe(403);
    expect(await bed.me(sessionToken)).not.toBeNull();
  });

  it('Query.logoutUrl offers the provider logout for an SSO session, null for a password session; `mutation { logout }` still answers true', async () => {
    const { sessionToken } = await bed.signIn('lou');
    const url = await bed.server.graphql(LogoutUrlDocument, {}, sessionToken);
    expect(url.data?.logoutUrl).toMatch(new RegExp(`^${bed.idp.issuer}/session/end\\?.*id_token_hint=`));
    expect((await bed.server.graphql(LogoutDocument, {}, sessionToken)).data).toEqual({ logout: true });
    const local = await bed.server.signIn(await makeUser(em()));
    expect((await bed.server.graphql(LogoutUrlDocument, {}, local)).data).toEqual({ logoutUrl: null });
  });
});

describe('provider-issued JWT access tokens as Authorization: Bearer (OIDC_API_AUDIENCE)', () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed({ env: { OIDC_API_AUDIENCE: AUDIENCE } });
    await makeRule(bed.server.db.orm.em.fork(), await makeGroup(bed.server.db.orm.em.fork(), ['core.view_tweet']), 'API_USERS');
  });
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (extra: Record<string, unknown> = {}) => ({
    iss: bed.idp.issuer,
    aud: AUDIENCE,
    sub: 'spa-user',
    iat: now(),
    exp: now() + 300,
    groups: ['API_USERS'],
    ...extra,
  });

  it('authenticates a valid token as its user, mapping groups through the login policy, without a session', async () => {
    const sessionsBefore = await em().count(Session, {});
    const token = await bed.idp.sign(claims());
    const result = await bed.server.graphql(ME, {}, token);
    expect(result.data).toEqual({ me: { user: { username: 'spa-user' }, permissions: ['core.view_tweet'] } });
    expect(await em().count(Session, {})).toBe(sessionsBefore);
    // The same user on the next request, whose groups are re-mapped: now in no mapped group → refused.
    const unmapped = await bed.idp.sign(claims({ groups: ['NOTHING'] }));
    const denied = await bed.server.graphql(MySessionsDocument, {}, unmapped);
    expect(denied.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('a token whose groups no longer map revokes: the rule memberships go and the person’s sessions end, with an audit entry', async () => {
    await bed.server.graphql(ME, {}, await bed.idp.sign(claims({ sub: 'spa-revoked' })));
    const user = await em().findOneOrFail(User, { username: 'spa-revoked' });
    const session = await bed.server.signIn(user);
    expect(await em().count(UserGroup, { user: user.id })).toBe(1);
    const denied = await bed.server.graphql(ME, {}, await bed.idp.sign(claims({ sub: 'spa-revoked', groups: ['NOTHING'] })));
    expect(denied.data).toEqual({ me: null });
    expect(await em().count(UserGroup, { user: user.id })).toBe(0);
    expect((await bed.server.graphql(ME, {}, session)).data).toEqual({ me: null });
    const [entry] = await em().find(
      LogEntry,
      { appLabel: 'sso', model: 'login', objectId: String(user.id) },
      { orderBy: { id: 'desc' }, limit: 1 },
    );
    expect(entry.changeMessage).toEqual([
      { sso_login: expect.objectContaining({ outcome: 'refused', reason: 'access_not_granted', via: 'bearer', sessionsEnded: 1 }) },
    ]);
  });

  it.each([
    ['a wrong audience', async () => bed.idp.sign(claims({ aud: 'https://other.example/api' }))],
    ['an expired token', async () => bed.idp.sign(claims({ iat: now() - 3600, exp: now() - 60 }))],
    ['a wrong issuer', async () => bed.idp.sign(claims({ iss: 'https://evil.example' }))],
    ['no exp', async () => bed.idp.sign({ iss: bed.idp.issuer, aud: AUDIENCE, sub: 'spa-user', groups: ['API_USERS'] })],
    [
      'HS256 keyed with the provider’s public key (algorithm confusion)',
      async () => {
        const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
        const input = `${part({ alg: 'HS256', kid: 'test-key-1' })}.${part(claims())}`;
        return `${input}.${createHmac('sha256', JSON.stringify(bed.idp.publicJwk)).update(input).digest('base64url')}`;
      },
    ],
    [
      'alg: none',
      async () => {
        const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
        return `${part({ alg: 'none' })}.${part(claims())}.`;
      },
    ],
    ['an ID token (audience is the client, not the API)', async () => bed.idp.sign(claims({ aud: bed.idp.clientId }))],
  ])('refuses %s with UNAUTHENTICATED', async (_name, make) => {
    const usersBefore = await em().count(User, {});
    const result = await bed.server.graphql(MySessionsDocument, {}, await make());
    expect(result.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(await em().count(User, {})).toBe(usersBefore);
  });

  it('keeps opaque session tokens working beside JWTs', async () => {
    const token = await bed.server.signIn(await makeUser(em(), { username: 'opaque-user' }));
    expect((await bed.server.graphql(ME, {}, token)).data).toEqual({ me: { user: { username: 'opaque-user' }, permissions: [] } });
  });
});

describe('provider-issued JWT access tokens when OIDC_API_AUDIENCE is unset', () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed();
  });
  afterAll(() => bed?.stop());

  it('are not accepted at all', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await bed.idp.sign({
      iss: bed.idp.issuer,
      aud: AUDIENCE,
      sub: 'spa-user',
      iat: now,
      exp: now + 300,
      groups: ['API_USERS'],
    });
    expect((await bed.server.graphql(ME, {}, token)).data).toEqual({ me: null });
  });
});
