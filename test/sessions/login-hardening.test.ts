import { User } from '../../src/users/user.entity';
import { makeUser } from '../support/factories';
import { LoginDocument as LOGIN, MeDocument } from '../generated/graphql';
import { graphqlClient } from '../support/graphql-client';
import { startTestServer, type TestServer } from '../support/server';

// The module's own exports object (a namespace import would be a copy), so the spy sees the
// calls src/users/passwords.ts makes.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const argon2: typeof import('@node-rs/argon2') = require('@node-rs/argon2');

const PASSWORD = 'correct horse battery staple';

describe('Mutation.login refusals cost the same', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  // Timing is not measured in tests; what makes the refusals take about the same time is that
  // each one runs exactly one argon2id verification, known user or not.
  it('runs exactly one argon2 verification for an unknown user, a wrong password, an inactive user and an unusable password', async () => {
    const em = () => server.db.orm.em.fork();
    const active = await makeUser(em());
    await server.signIn(active);
    const inactive = await makeUser(em());
    await server.signIn(inactive);
    await em().nativeUpdate(User, { id: inactive.id }, { isActive: false });
    const unusable = await makeUser(em(), { password: null });
    await server.graphql(LOGIN, { username: 'warm-up-unknown', password: PASSWORD }); // the decoy hash is made once, lazily

    const verify = jest.spyOn(argon2, 'verify');
    try {
      for (const [username, password] of [
        ['nobody-by-this-name', PASSWORD],
        [active.username, 'wrong password!'],
        [inactive.username, PASSWORD],
        [unusable.username, PASSWORD],
      ]) {
        verify.mockClear();
        const result = await server.graphql(LOGIN, { username, password });
        expect(result.errors?.[0].message).toBe('invalid username or password');
        expect({ username, verifications: verify.mock.calls.length }).toEqual({ username, verifications: 1 });
      }
    } finally {
      verify.mockRestore();
    }
  });
});

describe('session cookie when PUBLIC_URL is https', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { PUBLIC_URL: 'https://gatehouse.example.com' } });
  });
  afterAll(() => server.stop());

  it('is named __Host-gatehouse_session and is Secure, HttpOnly, SameSite=Lax, Path=/ with no Domain', async () => {
    const user = await makeUser(server.db.orm.em.fork());
    await server.signIn(user);
    const response = await server.graphql(LOGIN, { username: user.username, password: PASSWORD });
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^__Host-gatehouse_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/Domain=/i);
    // The prefixed cookie is the one read back.
    const token = /__Host-gatehouse_session=([^;]+)/.exec(cookie)![1];
    const me = await graphqlClient(server.url, { headers: { cookie: `__Host-gatehouse_session=${token}` } })(MeDocument);
    expect(me.data?.me?.user.username).toBe(user.username);
  });
});
