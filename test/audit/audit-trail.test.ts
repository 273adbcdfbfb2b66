/**
 * The audit trail is complete: every sign-in (password, allowed or refused with its reason),
 * every sign-out and session revocation, superusers made on the command line and the seeded
 * groups each leave a LogEntry, written in the transaction of the change — so when writing the
 * entry fails, the change is not made either (a trigger in the test database makes the insert
 * fail, as a full disk or a lost connection would). All of it reads through `logEntries`.
 */
import { ActionFlag, LogEntry } from '../../src/audit/log-entry.entity';
import { Group } from '../../src/groups/group.entity';
import { seedReferenceGroupsAndRules } from '../../src/sso/seed-rules';
import { Session } from '../../src/sessions/session.entity';
import { createSuperuser } from '../../src/users/users.service';
import { User } from '../../src/users/user.entity';
import {
  LoginDocument,
  LogEventsDocument,
  LogoutDocument,
  MySessionsDocument,
  RevokeOtherSessionsDocument,
  RevokeSessionDocument,
  RevokeUserSessionsDocument,
  type LogEntryFilterInput,
} from '../generated/graphql';
import { Browser } from '../support/browser';
import { makeUser } from '../support/factories';
import { startTestServer, TEST_PASSWORD, type TestServer } from '../support/server';
import { globalIdOf } from '../support/global-ids';

const PUBLIC_URL = 'http://gatehouse.test';
const SUPERUSER_PASSWORD = 'an unguessable superuser passphrase';

describe('the audit trail', () => {
  let server: TestServer;
  let auditor: string;
  let auditorId: number;
  const em = () => server.db.orm.em.fork();

  beforeAll(async () => {
    server = await startTestServer({ env: { PUBLIC_URL } });
    const signedIn = await server.signInWith(['admin.view_logentry']);
    auditor = signedIn.token;
    auditorId = signedIn.user.id;
    // Fault injection in the real database: inserting a log entry of an (app, model) listed in audit_fault fails.
    await em().execute(`
      create table audit_fault (app_label text not null, model text not null);
      create function audit_fault() returns trigger language plpgsql as $$
      begin
        if exists (select 1 from audit_fault f where f.app_label = new.app_label and f.model = new.model) then
          raise exception 'audit storage failed';
        end if;
        return new;
      end $$;
      create trigger audit_fault before insert on admin_logentry for each row execute function audit_fault();`);
  });
  afterAll(() => server?.stop());

  /** Makes writing log entries of `appLabel.model` fail while `body` runs. */
  async function withFailingAudit<T>(appLabel: string, model: string, body: () => Promise<T>): Promise<T> {
    await em().execute('insert into audit_fault values (?, ?)', [appLabel, model]);
    try {
      return await body();
    } finally {
      await em().execute('delete from audit_fault');
    }
  }

  const events = async (filter: LogEntryFilterInput) => {
    const result = await server.graphql(LogEventsDocument, { filter }, auditor);
    expect(result.errors).toBeUndefined();
    return result.data!.logEntries.edges.map((e) => e.node);
  };
  const login = (username: string, password: string) => server.graphql(LoginDocument, { username, password });

  describe('password sign-in', () => {
    it('records an allowed sign-in as a SIGN_IN event of auth.login, by the person, with the reason and address, never the password', async () => {
      const ada = await makeUser(em());
      await server.signIn(ada);
      const [entry] = await events({ event: 'SIGN_IN', userId: String(ada.id) });
      expect(entry).toMatchObject({
        appLabel: 'auth',
        model: 'login',
        objectId: String(ada.id),
        objectRepr: ada.username,
        event: 'SIGN_IN',
        userId: globalIdOf(ada),
        changeMessage: [{ password_login: { outcome: 'allowed', reason: 'password', ipAddress: expect.stringMatching(/127\.0\.0\.1/) } }],
      });
      expect(JSON.stringify(entry)).not.toContain(TEST_PASSWORD);
    });

    it.each<[string, () => Promise<{ username: string; password: string; objectId: string | null }>]>([
      ['unknown_user', async () => ({ username: 'nobody-at-all', password: 'a password typed in vain', objectId: null })],
      [
        'wrong_password',
        async () => {
          const user = await makeUser(em());
          await server.signIn(user);
          return { username: user.username, password: 'not the password at all', objectId: String(user.id) };
        },
      ],
      [
        'no_password',
        async () => {
          const user = await makeUser(em(), { password: null });
          return { username: user.username, password: 'single sign-on users have none', objectId: String(user.id) };
        },
      ],
      [
        'inactive',
        async () => {
          const user = await makeUser(em());
          await server.signIn(user);
          await em().nativeUpdate(User, { id: user.id }, { isActive: false });
          return { username: user.username, password: TEST_PASSWORD, objectId: String(user.id) };
        },
      ],
      ['password_too_long', async () => ({ username: 'someone-long', password: 'x'.repeat(1025), objectId: null })],
    ])('records a refusal for %s, with nobody as the actor and never the password', async (reason, attempt) => {
      const { username, password, objectId } = await attempt();
      const result = await login(username, password);
      expect(result.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      const [entry] = await events({ event: 'SIGN_IN', model: 'login', appLabel: 'auth', ...(objectId ? { objectId } : {}) }).then((all) =>
        all.filter((e) => e.objectRepr === username),
      );
      expect(entry).toMatchObject({
        objectId,
        objectRepr: username,
        userId: null,
        event: 'SIGN_IN',
        changeMessage: [{ password_login: { outcome: 'refused', reason } }],
      });
      expect(JSON.stringify(entry)).not.toContain(password.slice(0, 20));
    });

    it('records a throttled attempt as throttled', async () => {
      const user = await makeUser(em());
      await server.signIn(user);
      for (let i = 0; i < 6; i++) await login(user.username, `wrong guess number ${i}`);
      const reasons = (await events({ event: 'SIGN_IN', objectId: String(user.id) })).map(
        (e) => (e.changeMessage as Array<{ password_login: { reason: string } }>)[0].password_login.reason,
      );
      expect(reasons).toEqual(['throttled', ...Array(5).fill('wrong_password'), 'password']);
    });

    it('starts no session when its log entry cannot be written', async () => {
      const user = await makeUser(em());
      await server.signIn(user);
      const before = await em().count(Session, { user: user.id });
      const result = await withFailingAudit('auth', 'login', () => login(user.username, TEST_PASSWORD));
      expect(result.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(await em().count(Session, { user: user.id })).toBe(before);
    });
  });

  describe('sign-out and revocation', () => {
    /** A user with three sessions; returns their tokens. */
    async function threeSessions(): Promise<{ user: User; tokens: string[] }> {
      const user = await makeUser(em());
      const tokens = [await server.signIn(user)];
      for (let i = 0; i < 2; i++) tokens.push((await login(user.username, TEST_PASSWORD)).data!.login.token);
      return { user, tokens };
    }
    const signOuts = async (user: User) =>
      (await events({ event: 'SIGN_OUT', userId: String(user.id) })).map(
        (e) => (e.changeMessage as Array<{ sign_out: unknown }>)[0].sign_out,
      );

    it('records the logout mutation as a SIGN_OUT of the session', async () => {
      const { user, tokens } = await threeSessions();
      expect((await server.graphql(LogoutDocument, {}, tokens[0])).data?.logout).toBe(true);
      expect(await signOuts(user)).toEqual([{ scope: 'this', via: 'graphql', authMethod: 'password', sessionsEnded: 1 }]);
    });

    it('records POST /oidc/logout/ as a SIGN_OUT from the browser', async () => {
      const { user, tokens } = await threeSessions();
      const browser = new Browser();
      browser.setCookie('gatehouse_session', tokens[1]);
      const response = await browser.request(`${server.url}/oidc/logout/`, { method: 'POST', headers: { origin: PUBLIC_URL } });
      expect(response.status).toBe(303);
      expect(await signOuts(user)).toEqual([{ scope: 'this', via: 'browser', authMethod: 'password', sessionsEnded: 1 }]);
    });

    it('records revoking one other session and everywhere else, and nothing when nothing ended', async () => {
      const { user, tokens } = await threeSessions();
      const sessions = (await server.graphql(MySessionsDocument, {}, tokens[0])).data!.mySessions;
      const other = sessions.find((s) => !s.current)!;
      expect((await server.graphql(RevokeSessionDocument, { id: other.id }, tokens[0])).data?.revokeSession).toEqual({
        deletedId: other.id,
      });
      expect((await server.graphql(RevokeOtherSessionsDocument, {}, tokens[0])).data?.revokeOtherSessions).toBe(1);
      expect((await server.graphql(RevokeOtherSessionsDocument, {}, tokens[0])).data?.revokeOtherSessions).toBe(0);
      expect(await signOuts(user)).toEqual([
        { scope: 'others', via: 'graphql', sessionsEnded: 1 },
        { scope: 'one', via: 'graphql', authMethod: 'password', sessionsEnded: 1 },
      ]);
      expect(await em().count(Session, { user: user.id })).toBe(1);
    });

    it('keeps the session when the sign-out cannot be recorded', async () => {
      const { user, tokens } = await threeSessions();
      const result = await withFailingAudit('auth', 'session', () => server.graphql(RevokeOtherSessionsDocument, {}, tokens[0]));
      expect(result.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(await em().count(Session, { user: user.id })).toBe(3);
    });

    describe('Mutation.revokeUserSessions', () => {
      it('ends all sessions of the user and records an admin change of auth.user (no event, kept forever)', async () => {
        const { user } = await threeSessions();
        const admin = await server.signInWith(['auth.change_user']);
        const result = await server.graphql(RevokeUserSessionsDocument, { id: String(user.id) }, admin.token);
        expect([result.errors, result.data]).toEqual([undefined, { revokeUserSessions: 3 }]);
        expect(await em().count(Session, { user: user.id })).toBe(0);
        const [entry] = await events({ appLabel: 'auth', model: 'user', objectId: String(user.id) });
        expect(entry).toMatchObject({
          event: null,
          actionFlag: 'CHANGE',
          userId: globalIdOf(admin.user),
          changeMessage: [{ sessions_revoked: { sessionsEnded: 3 } }],
        });
      });

      it('is refused without auth.change_user (FORBIDDEN naming it), ending nothing', async () => {
        const { user } = await threeSessions();
        const viewer = await server.signInWith(['auth.view_user']);
        const result = await server.graphql(RevokeUserSessionsDocument, { id: String(user.id) }, viewer.token);
        expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'FORBIDDEN', permission: 'auth.change_user' }]);
        expect(await em().count(Session, { user: user.id })).toBe(3);
      });

      it('refuses a non-superuser ending a superuser’s sessions', async () => {
        const root = await makeUser(em(), { isSuperuser: true, isStaff: true });
        await server.signIn(root);
        const admin = await server.signInWith(['auth.change_user']);
        const result = await server.graphql(RevokeUserSessionsDocument, { id: String(root.id) }, admin.token);
        expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'FORBIDDEN', rule: 'superuserAccounts' }]);
        expect(await em().count(Session, { user: root.id })).toBe(1);
      });

      it('answers NOT_FOUND for an unknown user', async () => {
        const admin = await server.signInWith(['auth.change_user']);
        const result = await server.graphql(RevokeUserSessionsDocument, { id: '987654' }, admin.token);
        expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'NOT_FOUND', id: '987654' }]);
      });
    });
  });

  describe('the command line', () => {
    it('records a superuser created by createsuperuser, with no actor', async () => {
      const user = await createSuperuser(em(), { username: 'cli-root', email: 'root@example.com', password: SUPERUSER_PASSWORD });
      const [entry] = await events({ appLabel: 'auth', model: 'user', objectId: String(user.id) });
      expect(entry).toMatchObject({
        actionFlag: 'ADDITION',
        event: null,
        userId: null,
        objectRepr: 'cli-root',
        changeMessage: [{ added: {} }, { command: 'createsuperuser' }],
      });
    });

    it('creates no superuser when its log entry cannot be written', async () => {
      await expect(
        withFailingAudit('auth', 'user', () => createSuperuser(em(), { username: 'cli-doomed', email: '', password: SUPERUSER_PASSWORD })),
      ).rejects.toThrow('audit storage failed');
      expect(await em().count(User, { username: 'cli-doomed' })).toBe(0);
    });

    it('seeds no group and no rule when the groups’ log entries cannot be written, and logs each group and rule when they can', async () => {
      await expect(withFailingAudit('auth', 'group', () => seedReferenceGroupsAndRules(em()))).rejects.toThrow('audit storage failed');
      expect(await em().count(Group, { name: ['viewer', 'support', 'business', 'developer'] })).toBe(0);
      expect(await em().count(LogEntry, { appLabel: 'sso', model: 'groupmappingrule' })).toBe(0);

      await seedReferenceGroupsAndRules(em());
      const groups = await events({ appLabel: 'auth', model: 'group', actionFlag: 'ADDITION' });
      expect(groups.map((g) => g.objectRepr).sort()).toEqual(['business', 'developer', 'support', 'viewer']);
      expect(groups.every((g) => g.userId === null && g.event === null)).toBe(true);
      expect(groups[0].changeMessage).toEqual([{ added: {} }, { command: 'seed' }]);
      expect(await em().count(LogEntry, { appLabel: 'sso', model: 'groupmappingrule', actionFlag: ActionFlag.ADDITION })).toBe(4);
    });
  });

  describe('Query.logEntries filters', () => {
    it('tells events from admin changes (isEvent) and filters by event and actor together', async () => {
      const bob = await makeUser(em());
      const token = await server.signIn(bob);
      await server.graphql(LogoutDocument, {}, token);
      const mine = await events({ userId: String(bob.id) });
      expect(mine.map((e) => e.event)).toEqual(['SIGN_OUT', 'SIGN_IN']);
      expect((await events({ userId: String(bob.id), event: 'SIGN_IN' })).map((e) => e.model)).toEqual(['login']);
      // The actor by username, alone or with its id.
      expect((await events({ username: bob.username })).map((e) => e.event)).toEqual(['SIGN_OUT', 'SIGN_IN']);
      expect(await events({ username: bob.username, userId: String(auditorId) })).toEqual([]);
      expect(await events({ username: 'nobody-by-that-name' })).toEqual([]);
      expect(await events({ userId: String(bob.id), isEvent: false })).toEqual([]);
      expect((await events({ isEvent: true })).every((e) => e.event !== null)).toBe(true);
      expect((await events({ isEvent: false })).every((e) => e.event === null)).toBe(true);
      // Contradictory criteria all hold for nothing.
      expect(await events({ event: 'SIGN_OUT', isEvent: false })).toEqual([]);
    });

    it('refuses an event that is not one with BAD_USER_INPUT', async () => {
      const result = await server.graphql(LogEventsDocument, { filter: { event: 'LOGIN' as never } }, auditor);
      expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    });
  });
});
