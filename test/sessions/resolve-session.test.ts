import { logChange } from '../../src/audit/audit.service';
import { ActionFlag, LogEntry } from '../../src/audit/log-entry.entity';
import { modelRef } from '../../src/permissions/registry';
import { AuthMethod, Session } from '../../src/sessions/session.entity';
import {
  createSession,
  hashToken,
  resolveSession,
  resolveSessionWithPermissions,
  type SessionPolicy,
} from '../../src/sessions/sessions.service';
import { User } from '../../src/users/user.entity';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { makeGroup, makeUser } from '../support/factories';

const POLICY: SessionPolicy = { idleTimeout: 2 * 3600, absoluteTimeout: 7 * 86400 };

describe('resolveSessionWithPermissions', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  const em = () => db.orm.em.fork();
  const start = async (user: User, idToken: string | null = null) =>
    (
      await createSession(
        em(),
        await em().findOneOrFail(User, user.id),
        { authMethod: idToken ? AuthMethod.OIDC : AuthMethod.PASSWORD, idToken },
        POLICY,
      )
    ).token;

  it('returns the session, its user and the user’s direct ∪ group permissions in one statement', async () => {
    const group = await makeGroup(em(), ['core.view_tweet', 'auth.view_user']);
    const user = await makeUser(em(), { groups: [group], perms: ['auth.view_user', 'core.add_tweet'] });
    const token = await start(user);
    db.resetQueries();
    const resolved = await resolveSessionWithPermissions(em(), token, POLICY);
    expect(db.queries).toHaveLength(1);
    expect(resolved!.session.tokenHash).toBe(hashToken(token));
    expect(resolved!.session.authMethod).toBe(AuthMethod.PASSWORD);
    expect(resolved!.session.lastSeenAt).toBeInstanceOf(Date);
    expect(resolved!.session.user).toMatchObject({ id: user.id, username: user.username, isActive: true, isSuperuser: false });
    expect(resolved!.session.user.dateJoined).toBeInstanceOf(Date);
    expect([...resolved!.permissions!].sort()).toEqual(['auth.view_user', 'core.add_tweet', 'core.view_tweet']);
  });

  it('answers null permissions for a superuser (the registry’s apply) and an empty list for a user without grants', async () => {
    const superuser = await makeUser(em(), { isSuperuser: true, perms: ['core.view_tweet'] });
    expect((await resolveSessionWithPermissions(em(), await start(superuser), POLICY))!.permissions).toBeNull();
    const nobody = await makeUser(em());
    expect((await resolveSessionWithPermissions(em(), await start(nobody), POLICY))!.permissions).toEqual([]);
  });

  it('answers null for an unknown or malformed token, an expired or idle session and an inactive user', async () => {
    expect(await resolveSessionWithPermissions(em(), 'x'.repeat(43), POLICY)).toBeNull();
    expect(await resolveSessionWithPermissions(em(), 'short', POLICY)).toBeNull();
    const expired = await start(await makeUser(em()));
    await em().nativeUpdate(Session, { tokenHash: hashToken(expired) }, { expiresAt: new Date(Date.now() - 1000) });
    expect(await resolveSessionWithPermissions(em(), expired, POLICY)).toBeNull();
    const idle = await start(await makeUser(em()));
    await em().nativeUpdate(
      Session,
      { tokenHash: hashToken(idle) },
      { lastSeenAt: new Date(Date.now() - POLICY.idleTimeout * 1000 - 1000) },
    );
    expect(await resolveSessionWithPermissions(em(), idle, POLICY)).toBeNull();
    const deactivated = await makeUser(em());
    const token = await start(deactivated);
    await em().nativeUpdate(User, { id: deactivated.id }, { isActive: false });
    expect(await resolveSessionWithPermissions(em(), token, POLICY)).toBeNull();
    expect(await resolveSession(em(), token, POLICY)).toBeNull();
  });

  it('writes lastSeenAt only when it is over a minute old, and leaves the request’s EntityManager nothing to flush', async () => {
    const token = await start(await makeUser(em()));
    db.resetQueries();
    await resolveSessionWithPermissions(em(), token, POLICY);
    expect(db.queries).toHaveLength(1);

    const stale = new Date(Date.now() - 90_000);
    await em().nativeUpdate(Session, { tokenHash: hashToken(token) }, { lastSeenAt: stale });
    const request = em();
    db.resetQueries();
    const { session } = (await resolveSessionWithPermissions(request, token, POLICY))!;
    expect(db.queries).toHaveLength(2);
    expect(db.queries[1]).toMatch(/update "auth_session"/);
    expect(session.lastSeenAt.getTime()).toBeGreaterThan(stale.getTime() + 60_000);
    expect((await em().findOneOrFail(Session, session.id)).lastSeenAt.getTime()).toBe(session.lastSeenAt.getTime());
    db.resetQueries();
    await request.flush();
    expect(db.queries).toHaveLength(0);
  });

  it('hands out entities managed by the request’s EntityManager: found again without a query, changed and flushed field by field', async () => {
    const user = await makeUser(em(), { username: 'managed-session-user' });
    const request = em();
    const { session } = (await resolveSessionWithPermissions(request, await start(user), POLICY))!;
    db.resetQueries();
    expect(await request.findOne(User, user.id)).toBe(session.user);
    expect(await request.findOne(Session, session.id)).toBe(session);
    expect(db.queries).toHaveLength(0);

    session.user.firstName = 'Renamed';
    logChange(request, {
      actor: session.user,
      model: modelRef('auth', 'user'),
      objectId: user.id,
      objectRepr: user.username,
      action: ActionFlag.CHANGE,
    });
    await request.flush();
    expect(db.queries.filter((q) => q.includes('update "auth_user" set "first_name" = $1 where "id" = $2'))).toHaveLength(1);
    expect(db.queries.some((q) => /auth_session/.test(q))).toBe(false);
    const fresh = em();
    expect((await fresh.findOneOrFail(User, user.id)).firstName).toBe('Renamed');
    expect((await fresh.findOneOrFail(LogEntry, { objectId: String(user.id) }, { populate: ['user'] })).user?.id).toBe(user.id);
  });

  it('leaves the lazy idToken unloaded, and a populate of it loads it', async () => {
    const token = await start(await makeUser(em()), 'the.id.token');
    const request = em();
    const { session } = (await resolveSessionWithPermissions(request, token, POLICY))!;
    expect(session.idToken).toBeUndefined();
    const withToken = await request.findOne(Session, { id: session.id }, { populate: ['idToken'] });
    expect(withToken).toBe(session);
    expect(withToken!.idToken).toBe('the.id.token');
  });
});
