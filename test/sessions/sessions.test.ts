import { toGlobalId } from '../../src/db/ids';
import { Session } from '../../src/sessions/session.entity';
import { hashToken } from '../../src/sessions/sessions.service';
import { makeUser } from '../support/factories';
import {
  MeDocument as ME,
  MySessionsDocument as MY_SESSIONS,
  RevokeSessionDocument as REVOKE,
  SetUserPasswordDocument,
  UpdateUserDocument,
} from '../generated/graphql';
import { startTestServer, type TestServer } from '../support/server';
import { sleep } from '../support/wait';
import { globalIdOf } from '../support/global-ids';

describe('sessions', () => {
  let server: TestServer;
  const em = () => server.db.orm.em.fork();
  const signedIn = async (token: string) => (await server.graphql(ME, {}, token)).data?.me !== null;
  const sessionOf = (token: string) => em().findOneOrFail(Session, { tokenHash: hashToken(token) });

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  describe('Query.mySessions', () => {
    it('lists only the caller’s own live sessions, newest first, flagging the one in use', async () => {
      const user = await makeUser(em());
      const older = await server.signIn(user);
      const current = await server.signIn(user);
      const stranger = await makeUser(em());
      await server.signIn(stranger);

      const result = await server.graphql(MY_SESSIONS, {}, current);
      expect(result.errors).toBeUndefined();
      const sessions = result.data!.mySessions;
      const ids = [globalIdOf(await sessionOf(current)), globalIdOf(await sessionOf(older))];
      expect(sessions.map((s) => s.id)).toEqual(ids);
      expect(sessions.map((s) => s.current)).toEqual([true, false]);
      expect(sessions.every((s) => s.authMethod === 'PASSWORD')).toBe(true);
    });

    it('is refused to an anonymous caller with UNAUTHENTICATED', async () => {
      expect((await server.graphql(MY_SESSIONS, {})).errors?.[0].extensions).toEqual({ code: 'UNAUTHENTICATED' });
    });
  });

  describe('Mutation.revokeSession', () => {
    it('ends one of the caller’s own sessions: its token is dead afterwards, the others live on', async () => {
      const user = await makeUser(em());
      const kept = await server.signIn(user);
      const revoked = await server.signIn(user);
      const { id } = await sessionOf(revoked);
      const result = await server.graphql(REVOKE, { id }, kept);
      expect(result.data).toEqual({ revokeSession: { deletedId: toGlobalId('Session', id) } });
      expect(await signedIn(revoked)).toBe(false);
      expect(await signedIn(kept)).toBe(true);
    });

    it('can end the session it is sent with', async () => {
      const user = await makeUser(em());
      const token = await server.signIn(user);
      const { id } = await sessionOf(token);
      expect((await server.graphql(REVOKE, { id }, token)).data).toEqual({ revokeSession: { deletedId: toGlobalId('Session', id) } });
      expect(await signedIn(token)).toBe(false);
    });

    it('answers NOT_FOUND for another user’s session, which lives on, exactly as for one that does not exist', async () => {
      const [me, other] = [await makeUser(em()), await makeUser(em())];
      const mine = await server.signIn(me);
      const theirs = await server.signIn(other);
      const foreign = await server.graphql(REVOKE, { id: (await sessionOf(theirs)).id }, mine);
      expect(foreign.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      expect(await signedIn(theirs)).toBe(true);
      const missing = await server.graphql(REVOKE, { id: '00000000-0000-4000-8000-000000000000' }, mine);
      expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      expect(missing.errors?.[0].message.replace(/[0-9a-f-]{36}/, 'ID')).toBe(foreign.errors?.[0].message.replace(/[0-9a-f-]{36}/, 'ID'));
    });
  });

  describe('timeouts (timestamps moved back in the database)', () => {
    // Default policy: idle 2 h, absolute 7 days.
    it('ends a session idle for longer than SESSION_IDLE_TIMEOUT', async () => {
      const token = await server.signIn(await makeUser(em()));
      await em().nativeUpdate(Session, { tokenHash: hashToken(token) }, { lastSeenAt: new Date(Date.now() - 2 * 3600 * 1000 - 1000) });
      expect(await signedIn(token)).toBe(false);
    });

    it('keeps a session in use alive: a request within the idle timeout moves lastSeenAt forward', async () => {
      const token = await server.signIn(await makeUser(em()));
      const almostIdle = new Date(Date.now() - 2 * 3600 * 1000 + 60_000);
      await em().nativeUpdate(Session, { tokenHash: hashToken(token) }, { lastSeenAt: almostIdle });
      expect(await signedIn(token)).toBe(true);
      expect((await sessionOf(token)).lastSeenAt.getTime()).toBeGreaterThan(Date.now() - 10_000);
    });

    it('ends a session past SESSION_ABSOLUTE_TIMEOUT however recently it was used', async () => {
      const token = await server.signIn(await makeUser(em()));
      await em().nativeUpdate(Session, { tokenHash: hashToken(token) }, { expiresAt: new Date(Date.now() - 1000), lastSeenAt: new Date() });
      expect(await signedIn(token)).toBe(false);
    });
  });

  describe('sessions end when the user is deactivated or their password changes', () => {
    it('updateUser(isActive: false) and setUserPassword each end every session of the user', async () => {
      const admin = await makeUser(em(), { perms: ['auth.change_user'] });
      const adminToken = await server.signIn(admin);
      const first = await makeUser(em());
      const firstTokens = [await server.signIn(first), await server.signIn(first)];
      const second = await makeUser(em());
      const secondTokens = [await server.signIn(second), await server.signIn(second)];

      await server.graphql(UpdateUserDocument, { id: String(first.id), input: { isActive: false } }, adminToken);
      await server.graphql(SetUserPasswordDocument, { id: String(second.id), password: 'another long password' }, adminToken);
      for (const token of [...firstTokens, ...secondTokens]) expect(await signedIn(token)).toBe(false);
      expect(await em().count(Session, { user: { $in: [first.id, second.id] } })).toBe(0);
      expect(await signedIn(adminToken)).toBe(true);
    });
  });
});

describe('session timeouts in real time (SESSION_IDLE_TIMEOUT=4, SESSION_ABSOLUTE_TIMEOUT=6)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { SESSION_IDLE_TIMEOUT: '4', SESSION_ABSOLUTE_TIMEOUT: '6' } });
  });
  afterAll(() => server.stop());

  // Seconds, not milliseconds, apart: on a loaded machine a request (or a sign-in, which hashes
  // a password) can take most of a second, and the clock starts as the active session does.
  it('keeps a used session past the idle timeout, ends an unused one at it, and ends both at the absolute timeout', async () => {
    const em = server.db.orm.em.fork();
    const idle = await server.signIn(await makeUser(em));
    const activeUser = await makeUser(em);
    const active = await server.signIn(activeUser);
    const started = Date.now();
    const signedIn = async (token: string) => (await server.graphql(ME, {}, token)).data?.me !== null;
    const at = async (ms: number) => sleep(Math.max(0, started + ms - Date.now()));

    for (const ms of [1600, 3200, 4800]) {
      await at(ms);
      expect(await signedIn(active)).toBe(true);
    }
    expect(await signedIn(idle)).toBe(false); // 4.8 s without a request
    await at(6600);
    expect(await signedIn(active)).toBe(false); // 6.6 s after sign-in, in use or not
  });
});
