import { Session } from '../../src/sessions/session.entity';
import { hashToken } from '../../src/sessions/sessions.service';
import { User } from '../../src/users/user.entity';
import { LoginDocument, LogoutDocument, MeDocument } from '../generated/graphql';
import { graphqlClient } from '../support/graphql-client';
import { makeGroup, makeUser } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';

describe('Mutation.login', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());
  const em = () => server.db.orm.em.fork();

  it('starts a session whose token works as a bearer token and as a cookie', async () => {
    const group = await makeGroup(em(), ['core.view_tweet']);
    const user = await makeUser(em(), { groups: [group] });
    const token = await server.signIn(user);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const viaBearer = await server.graphql(MeDocument, {}, token);
    expect(viaBearer.data).toEqual({ me: { user: { username: user.username }, permissions: ['core.view_tweet'] } });

    const viaCookie = await graphqlClient(server.url, { headers: { cookie: `gatehouse_session=${token}` } })(MeDocument);
    expect(viaCookie.data?.me?.user.username).toBe(user.username);
  });

  it('sets an HttpOnly, SameSite=Lax session cookie and stores only the token’s digest', async () => {
    const user = await makeUser(em());
    await server.signIn(user);
    const response = await server.graphql(LoginDocument, { username: user.username, password: 'correct horse battery staple' });
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^gatehouse_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i);
    const token = /gatehouse_session=([^;]+)/.exec(cookie)![1];
    const rows = await em().find(Session, { user: user.id });
    expect(rows.map((r) => r.tokenHash)).toContain(hashToken(token));
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('issues a new token at every login', async () => {
    const user = await makeUser(em());
    const first = await server.signIn(user);
    const second = await server.signIn(user);
    expect(first).not.toBe(second);
  });

  it('refuses an unknown user, a wrong password, an inactive user and an unusable password with the same message', async () => {
    const active = await makeUser(em());
    await server.signIn(active); // gives it the test password
    const inactive = await makeUser(em());
    await server.signIn(inactive);
    await em().nativeUpdate(User, { id: inactive.id }, { isActive: false });
    const sso = await makeUser(em(), { password: null });
    const attempts = [
      { username: 'nobody-by-this-name', password: 'correct horse battery staple' },
      { username: active.username, password: 'wrong password!' },
      { username: inactive.username, password: 'correct horse battery staple' },
      { username: sso.username, password: 'anything at all' },
    ];
    const before = await em().count(Session, {});
    for (const variables of attempts) {
      const result = await server.graphql(LoginDocument, variables);
      expect(result.data).toBeNull();
      expect(result.errors).toEqual([
        expect.objectContaining({ message: 'invalid username or password', extensions: { code: 'UNAUTHENTICATED' } }),
      ]);
    }
    expect(await em().count(Session, {})).toBe(before);
  });

  it('throttles repeated failures for one account, even with the right password, then says when to retry', async () => {
    const user = await makeUser(em());
    await server.signIn(user);
    for (let i = 0; i < 5; i++) await server.graphql(LoginDocument, { username: user.username, password: 'wrong password!' });
    const result = await server.graphql(LoginDocument, { username: user.username, password: 'correct horse battery staple' });
    expect(result.errors?.[0].extensions).toEqual({ code: 'UNAUTHENTICATED', retryAfterSeconds: expect.any(Number) });
    expect(result.errors?.[0].message).toMatch(/too many failed sign-ins/);
    const other = await makeUser(em());
    await expect(server.signIn(other)).resolves.toEqual(expect.any(String));
  });
});

describe('Mutation.logout', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('ends the session: the same token is then anonymous', async () => {
    const user = await makeUser(server.db.orm.em.fork());
    const token = await server.signIn(user);
    const result = await server.graphql(LogoutDocument, {}, token);
    expect(result.data).toEqual({ logout: true });
    expect((await server.graphql(MeDocument, {}, token)).data).toEqual({ me: null });
    const again = await server.graphql(LogoutDocument, {}, token);
    expect(again.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});
