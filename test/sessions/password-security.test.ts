import { hash, Algorithm } from '@node-rs/argon2';
import { Session } from '../../src/sessions/session.entity';
import { LOGIN_THROTTLE_POINTS } from '../../src/sessions/password-login';
import { commonPasswordCount } from '../../src/users/passwords';
import { User } from '../../src/users/user.entity';
import {
  CreateUserDocument as CREATE,
  LoginDocument as LOGIN,
  MeDocument as ME,
  SetUserPasswordDocument as SET_PASSWORD,
} from '../generated/graphql';
import { Browser } from '../support/browser';
import { makeUser } from '../support/factories';
import { graphqlClient, onlyError } from '../support/graphql-client';
import { freePort } from '../support/ports';
import { startTestServer, TEST_PASSWORD, type TestServerOptions, type TestServer } from '../support/server';

// The module's own exports object (a namespace import would be a copy), so the spy sees the
// calls src/users/passwords.ts makes — in both Gatehouse instances, which run in this process.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const argon2: typeof import('@node-rs/argon2') = require('@node-rs/argon2');

const WRONG = 'not the right password at all';

/** A Gatehouse whose PUBLIC_URL is where it listens, so the /login form's same-origin check passes. */
async function startWithPublicUrl(options: TestServerOptions = {}): Promise<TestServer> {
  const port = await freePort();
  return startTestServer({ ...options, env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } });
}

/** Counts argon2 verifications while `work` runs. */
async function countVerifications<T>(work: () => Promise<T>): Promise<{ result: T; verifications: number }> {
  const verify = jest.spyOn(argon2, 'verify');
  try {
    const result = await work();
    return { result, verifications: verify.mock.calls.length };
  } finally {
    verify.mockRestore();
  }
}

describe('atomic password throttling across two instances on one database', () => {
  let first: TestServer;
  let second: TestServer;
  beforeAll(async () => {
    first = await startWithPublicUrl();
    second = await startTestServer({ db: first.db });
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
  });
  const em = () => first.db.orm.em.fork();

  /** `count` sign-ins of `username` at once, alternating between the two instances. */
  const burst = (username: string, passwords: string[]) =>
    Promise.all(passwords.map((password, i) => (i % 2 ? second : first).graphql(LOGIN, { username, password })));

  it.each([20, 50])(`a burst of %i concurrent wrong passwords makes at most ${LOGIN_THROTTLE_POINTS} argon2 verifications`, async (n) => {
    const user = await makeUser(em());
    await first.signIn(user); // sets TEST_PASSWORD (one verification, before counting)
    await first.db.orm.em.fork().nativeDelete('LoginThrottle', {});
    const { result, verifications } = await countVerifications(() => burst(user.username, Array<string>(n).fill(WRONG)));
    expect(verifications).toBeLessThanOrEqual(LOGIN_THROTTLE_POINTS);
    const messages = result.map((r) => r.errors?.[0].message ?? 'signed in');
    expect(messages.filter((m) => m === 'invalid username or password')).toHaveLength(verifications);
    expect(messages.filter((m) => /^too many failed sign-ins for this account; try again in \d+ s$/.test(m))).toHaveLength(
      n - verifications,
    );
  });

  it(`19 wrong passwords and the right one in one burst make at most ${LOGIN_THROTTLE_POINTS} verifications; the rest are refused unchecked`, async () => {
    const user = await makeUser(em());
    await first.signIn(user);
    await em().nativeDelete(Session, { user: user.id });
    await em().nativeDelete('LoginThrottle', {});
    const passwords = [...Array<string>(19).fill(WRONG), TEST_PASSWORD];
    const { result, verifications } = await countVerifications(() => burst(user.username, passwords));
    expect(verifications).toBeLessThanOrEqual(LOGIN_THROTTLE_POINTS);
    const signedIn = result.filter((r) => r.data?.login);
    // The right password signs in only if it was among the attempts checked; never beyond the limit.
    expect(signedIn.length).toBeLessThanOrEqual(1);
    expect(result.length - result.filter((r) => r.errors?.[0].message.startsWith('too many failed sign-ins')).length).toBe(verifications);
    expect(await em().count(Session, { user: user.id })).toBe(signedIn.length);
  });

  it('refuses a password over 1,024 characters with the same message as any failure, before hashing', async () => {
    const user = await makeUser(em());
    await first.signIn(user);
    const long = TEST_PASSWORD + 'x'.repeat(1025);
    const { result, verifications } = await countVerifications(() => first.graphql(LOGIN, { username: user.username, password: long }));
    expect(onlyError(result)).toEqual({ message: 'invalid username or password', extensions: { code: 'UNAUTHENTICATED' } });
    expect(verifications).toBe(0);
  });

  it('the /login form refuses an over-long password rather than checking its first 1,024 characters', async () => {
    const user = await makeUser(em());
    const exact = 'p'.repeat(1024);
    await first.signIn(user, exact);
    await em().nativeDelete(Session, { user: user.id });
    const browser = new Browser();
    const { result: response, verifications } = await countVerifications(() =>
      browser.postForm(
        `${first.url}/login`,
        { username: user.username, password: `${exact}and more`, next: '/graphql' },
        { origin: first.url },
      ),
    );
    expect(response.status).toBe(401);
    expect(await response.text()).toContain('Invalid username or password.');
    expect(verifications).toBe(0);
    expect(await em().count(Session, { user: user.id })).toBe(0);
  });
});

describe('argon2 parameters are upgraded at sign-in', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());
  const em = () => server.db.orm.em.fork();
  const storedHash = async (id: number) => (await em().findOneOrFail(User, id, { populate: ['password'] })).password!;

  it('replaces a hash made with weaker parameters at the next successful sign-in, and only then', async () => {
    const user = await makeUser(em());
    const weak = await hash(TEST_PASSWORD, { algorithm: Algorithm.Argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1 });
    await em().nativeUpdate(User, { id: user.id }, { password: weak });

    expect((await server.graphql(LOGIN, { username: user.username, password: WRONG })).errors).toHaveLength(1);
    expect(await storedHash(user.id)).toBe(weak);

    expect((await server.graphql(LOGIN, { username: user.username, password: TEST_PASSWORD })).data?.login).toBeTruthy();
    const upgraded = await storedHash(user.id);
    expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await server.graphql(LOGIN, { username: user.username, password: TEST_PASSWORD })).data?.login).toBeTruthy();
    expect(await storedHash(user.id)).toBe(upgraded); // current parameters: left alone
  });

  it('keeps a hash stronger than Gatehouse’s', async () => {
    const user = await makeUser(em());
    const strong = await hash(TEST_PASSWORD, { algorithm: Algorithm.Argon2id, memoryCost: 32768, timeCost: 3, parallelism: 1 });
    await em().nativeUpdate(User, { id: user.id }, { password: strong });
    expect((await server.graphql(LOGIN, { username: user.username, password: TEST_PASSWORD })).data?.login).toBeTruthy();
    expect(await storedHash(user.id)).toBe(strong);
  });
});

describe('sessions end when they should', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startWithPublicUrl();
  });
  afterAll(() => server.stop());
  const em = () => server.db.orm.em.fork();

  it('signing in through the form as someone else in the same browser ends the session the browser had', async () => {
    const alice = await makeUser(em());
    const bob = await makeUser(em());
    await server.signIn(bob); // sets bob's password
    const browser = new Browser();
    const form = (username: string) =>
      browser.postForm(`${server.url}/login`, { username, password: TEST_PASSWORD, next: '/graphql' }, { origin: server.url });
    await server.signIn(alice);
    expect((await form(alice.username)).status).toBe(303);
    const aliceToken = browser.cookie('gatehouse_session')!;
    expect((await server.graphql(ME, {}, aliceToken)).data?.me?.user.username).toBe(alice.username);

    expect((await form(bob.username)).status).toBe(303);
    expect((await server.graphql(ME, {}, aliceToken)).data).toEqual({ me: null });
    expect((await server.graphql(ME, {}, browser.cookie('gatehouse_session')!)).data?.me?.user.username).toBe(bob.username);
  });

  it('the login mutation ends the session the request carried', async () => {
    const alice = await makeUser(em());
    const bob = await makeUser(em());
    const aliceToken = await server.signIn(alice);
    await server.signIn(bob);
    const result = await graphqlClient(server.url, { headers: { authorization: `Bearer ${aliceToken}` } })(LOGIN, {
      username: bob.username,
      password: TEST_PASSWORD,
    });
    expect(result.data?.login.user).toBeTruthy();
    expect((await server.graphql(ME, {}, aliceToken)).data).toEqual({ me: null });
  });

  describe('changing one’s own password', () => {
    it('requires the current password: without it or with a wrong one it is refused and nothing changes', async () => {
      const self = await server.signInWith(['auth.change_user']);
      const id = String(self.user.id);
      const before = await server.db.snapshot();
      expect(onlyError(await server.graphql(SET_PASSWORD, { id, password: 'a stolen session’s password' }, self.token))).toEqual({
        message: 'currentPassword: is required to change your own password',
        extensions: { code: 'BAD_USER_INPUT', field: 'currentPassword' },
      });
      expect(
        onlyError(await server.graphql(SET_PASSWORD, { id, password: 'a stolen session’s password', currentPassword: WRONG }, self.token)),
      ).toEqual({
        message: 'currentPassword: is not your current password',
        extensions: { code: 'BAD_USER_INPUT', field: 'currentPassword' },
      });
      expect(await server.db.snapshot()).toEqual(before);
    });

    it('checks the current password under the sign-in throttle', async () => {
      const self = await server.signInWith(['auth.change_user']);
      const id = String(self.user.id);
      for (let i = 0; i < LOGIN_THROTTLE_POINTS; i++)
        await server.graphql(SET_PASSWORD, { id, password: 'a stolen session’s password', currentPassword: WRONG }, self.token);
      const { result, verifications } = await countVerifications(() =>
        server.graphql(SET_PASSWORD, { id, password: 'a stolen session’s password', currentPassword: TEST_PASSWORD }, self.token),
      );
      expect(onlyError(result).extensions).toEqual({
        code: 'BAD_USER_INPUT',
        field: 'currentPassword',
        retryAfterSeconds: expect.any(Number),
      });
      expect(verifications).toBe(0);
    });

    it('with the current password, changes it and ends every other session of the account', async () => {
      const self = await server.signInWith(['auth.change_user']);
      const other = await server.signIn(self.user);
      const result = await server.graphql(
        SET_PASSWORD,
        { id: String(self.user.id), password: 'a fresh and long password', currentPassword: TEST_PASSWORD },
        self.token,
      );
      expect(result.errors).toBeUndefined();
      expect((await server.graphql(ME, {}, self.token)).data?.me).not.toBeNull();
      expect((await server.graphql(ME, {}, other)).data).toEqual({ me: null });
    });

    it('an admin resetting another user’s password needs no current password, and ends all their sessions', async () => {
      const admin = await server.signInWith(['auth.change_user']);
      const target = await makeUser(em());
      const token = await server.signIn(target);
      const result = await server.graphql(SET_PASSWORD, { id: String(target.id), password: 'reset by an administrator' }, admin.token);
      expect(result.errors).toBeUndefined();
      expect((await server.graphql(ME, {}, token)).data).toEqual({ me: null });
    });
  });
});

describe('the password policy', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('ships a list of at least 10,000 common passwords', () => {
    expect(commonPasswordCount()).toBeGreaterThanOrEqual(10_000);
  });

  it.each([
    ['password123', 'password: must be at least 12 characters'],
    ['elevenchars', 'password: must be at least 12 characters'],
    ['qwerty123456', 'password: is too common: it is on a list of passwords that attackers try first'],
    ['QWERTY123456', 'password: is too common: it is on a list of passwords that attackers try first'],
    ['1q2w3e4r5t6y', 'password: is too common: it is on a list of passwords that attackers try first'],
    ['x'.repeat(1025), 'password: must be at most 1024 characters'],
  ])('refuses %j as a new password, naming the rule, and changes nothing', async (password, message) => {
    const admin = await server.signInWith(['auth.change_user']);
    const target = await makeUser(server.db.orm.em.fork());
    const before = await server.db.snapshot();
    expect(onlyError(await server.graphql(SET_PASSWORD, { id: String(target.id), password }, admin.token))).toEqual({
      message,
      extensions: { code: 'BAD_USER_INPUT', field: 'password' },
    });
    expect(await server.db.snapshot()).toEqual(before);
  });

  it('refuses a common password when creating a user too', async () => {
    const admin = await server.signInWith(['auth.add_user']);
    const before = await server.db.snapshot();
    const error = onlyError(await server.graphql(CREATE, { input: { username: 'common-pw', password: 'qwerty123456' } }, admin.token));
    expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.password' });
    expect(await server.db.snapshot()).toEqual(before);
  });

  it('accepts a long uncommon password', async () => {
    const admin = await server.signInWith(['auth.change_user']);
    const target = await makeUser(server.db.orm.em.fork());
    const result = await server.graphql(SET_PASSWORD, { id: String(target.id), password: 'violet staple orbit canoe' }, admin.token);
    expect(result.errors).toBeUndefined();
  });
});
