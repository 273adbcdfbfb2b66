import { PermissionBackend } from '../../src/permissions/has-perm';
import { ALL_PERMISSIONS } from '../../src/permissions/registry';
import { MembershipSource, UserGroup } from '../../src/users/user-group.entity';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { makeGroup, makeRule, makeUser } from '../support/factories';

// Ports of django/tests/auth_tests/test_auth_backends.py (ModelBackend semantics).
describe('PermissionBackend', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  const backend = () => new PermissionBackend(db.orm.em.fork());

  it('gives a user with no grants and no groups no permission', async () => {
    const user = await makeUser(db.orm.em.fork());
    const perms = backend();
    expect(await perms.hasPerm(user, 'core.view_tweet')).toBe(false);
    expect([...(await perms.getAllPermissions(user))]).toEqual([]);
    expect(await perms.hasModulePerms(user, 'core')).toBe(false);
  });

  it('grants direct permissions', async () => {
    const user = await makeUser(db.orm.em.fork(), { perms: ['core.view_tweet'] });
    const perms = backend();
    expect(await perms.hasPerm(user, 'core.view_tweet')).toBe(true);
    expect(await perms.hasPerm(user, 'core.change_tweet')).toBe(false);
    expect(await perms.hasModulePerms(user, 'core')).toBe(true);
    expect(await perms.hasModulePerms(user, 'auth')).toBe(false);
  });

  it('grants the union of direct grants and the permissions of every group', async () => {
    const em = db.orm.em.fork();
    const viewers = await makeGroup(em, ['core.view_tweet', 'core.view_language']);
    const editors = await makeGroup(em, ['core.change_tweet', 'core.view_tweet']);
    const user = await makeUser(em, { groups: [viewers, editors], perms: ['auth.view_user'] });
    expect([...(await backend().getAllPermissions(user))].sort()).toEqual([
      'auth.view_user',
      'core.change_tweet',
      'core.view_language',
      'core.view_tweet',
    ]);
  });

  it('counts a group once however many memberships lead to it (admin and rule)', async () => {
    const em = db.orm.em.fork();
    const group = await makeGroup(em, ['core.add_tweet']);
    const user = await makeUser(em, { groups: [group] });
    em.create(UserGroup, { user, group, source: MembershipSource.SSO_RULE, rule: await makeRule(em, group) });
    await em.flush();
    expect([...(await backend().getAllPermissions(user))]).toEqual(['core.add_tweet']);
  });

  it('gives an inactive user nothing, even with grants and groups', async () => {
    const em = db.orm.em.fork();
    const group = await makeGroup(em, ['core.view_tweet']);
    const user = await makeUser(em, { isActive: false, groups: [group], perms: ['core.add_tweet'] });
    const perms = backend();
    expect(await perms.hasPerm(user, 'core.view_tweet')).toBe(false);
    expect(await perms.hasPerm(user, 'core.add_tweet')).toBe(false);
    expect(await perms.hasModulePerms(user, 'core')).toBe(false);
    expect((await perms.getAllPermissions(user)).size).toBe(0);
  });

  it('gives an inactive superuser nothing', async () => {
    const user = await makeUser(db.orm.em.fork(), { isActive: false, isSuperuser: true });
    const perms = backend();
    expect(await perms.hasPerm(user, 'auth.delete_user')).toBe(false);
    expect(await perms.hasPerms(user, ['core.view_tweet'])).toBe(false);
    expect(await perms.hasModulePerms(user, 'auth')).toBe(false);
  });

  it('gives an active superuser every registered permission, without a query', async () => {
    const user = await makeUser(db.orm.em.fork(), { isSuperuser: true });
    const perms = backend();
    db.resetQueries();
    expect(
      await perms.hasPerms(
        user,
        ALL_PERMISSIONS.map((p) => p.fullName),
      ),
    ).toBe(true);
    expect(await perms.hasModulePerms(user, 'admin')).toBe(true);
    expect((await perms.getAllPermissions(user)).size).toBe(ALL_PERMISSIONS.length);
    expect(db.queries).toHaveLength(0);
  });

  it('refuses unknown permission names, superuser or not', async () => {
    const em = db.orm.em.fork();
    const superuser = await makeUser(em, { isSuperuser: true });
    const user = await makeUser(em, { perms: ['core.view_tweet'] });
    const perms = backend();
    for (const who of [superuser, user]) {
      expect(await perms.hasPerm(who, 'core.view_twee')).toBe(false);
      expect(await perms.hasPerm(who, 'view_tweet')).toBe(false);
      expect(await perms.hasPerm(who, '')).toBe(false);
      expect(await perms.hasModulePerms(who, 'nonexistent')).toBe(false);
    }
  });

  it('hasPerms needs every permission and is true for an empty list', async () => {
    const user = await makeUser(db.orm.em.fork(), { perms: ['core.view_tweet', 'core.add_tweet'] });
    const perms = backend();
    expect(await perms.hasPerms(user, ['core.view_tweet', 'core.add_tweet'])).toBe(true);
    expect(await perms.hasPerms(user, ['core.view_tweet', 'core.delete_tweet'])).toBe(false);
    expect(await perms.hasPerms(user, [])).toBe(true);
  });

  it('computes a user’s permissions with one SQL statement and reuses them for the request', async () => {
    const em = db.orm.em.fork();
    const group = await makeGroup(em, ['core.view_tweet']);
    const user = await makeUser(em, { groups: [group], perms: ['auth.view_group'] });
    const perms = backend();
    db.resetQueries();
    await Promise.all([perms.hasPerm(user, 'core.view_tweet'), perms.hasPerm(user, 'auth.view_group')]);
    await perms.hasPerms(user, ['core.view_tweet']);
    await perms.hasModulePerms(user, 'auth');
    expect(db.queries).toHaveLength(1);
  });

  it('peek answers without I/O: nothing before the permissions are loaded, the set afterwards', async () => {
    const em = db.orm.em.fork();
    const user = await makeUser(em, { perms: ['core.view_tweet'] });
    const inactive = await makeUser(em, { isActive: false, perms: ['core.view_tweet'] });
    const superuser = await makeUser(em, { isSuperuser: true });
    const perms = backend();
    db.resetQueries();
    expect(perms.peek(user)).toBeUndefined();
    expect(perms.peek(inactive)?.size).toBe(0);
    expect(perms.peek(superuser)?.size).toBe(ALL_PERMISSIONS.length);
    await perms.getAllPermissions(user);
    expect([...perms.peek(user)!]).toEqual(['core.view_tweet']);
    perms.forget(user.id);
    expect(perms.peek(user)).toBeUndefined();
    expect(db.queries).toHaveLength(1);
  });

  describe('prime', () => {
    it('answers for a primed active non-superuser from what was primed, without a query, until forget', async () => {
      const em = db.orm.em.fork();
      const user = await makeUser(em, { perms: ['core.view_tweet'] });
      const perms = backend();
      db.resetQueries();
      perms.prime(user.id, ['auth.view_user', 'auth.view_group']);
      expect([...perms.peek(user)!].sort()).toEqual(['auth.view_group', 'auth.view_user']);
      expect(await perms.hasPerm(user, 'auth.view_user')).toBe(true);
      expect(await perms.hasPerms(user, ['auth.view_user', 'auth.view_group'])).toBe(true);
      expect(await perms.hasModulePerms(user, 'core')).toBe(false);
      expect(db.queries).toHaveLength(0);
      perms.forget(user.id);
      expect(perms.peek(user)).toBeUndefined();
      expect([...(await perms.getAllPermissions(user))]).toEqual(['core.view_tweet']); // loaded again
      expect(db.queries).toHaveLength(1);
    });

    it('never lets what was primed count for an inactive user or a superuser', async () => {
      const em = db.orm.em.fork();
      const inactive = await makeUser(em, { isActive: false });
      const superuser = await makeUser(em, { isSuperuser: true });
      const perms = backend();
      perms.prime(inactive.id, ['core.view_tweet']);
      perms.prime(superuser.id, ['core.view_tweet']);
      expect(await perms.hasPerm(inactive, 'core.view_tweet')).toBe(false);
      expect(perms.peek(inactive)?.size).toBe(0);
      expect(await perms.hasPerm(superuser, 'auth.delete_user')).toBe(true);
      expect((await perms.getAllPermissions(superuser)).size).toBe(ALL_PERMISSIONS.length);
    });

    it('primes one backend only: another request’s backend loads the user’s own grants', async () => {
      const user = await makeUser(db.orm.em.fork());
      backend().prime(user.id, ['core.delete_tweet']);
      expect(await backend().hasPerm(user, 'core.delete_tweet')).toBe(false);
    });
  });

  it('sees a change of grants in the next request’s backend', async () => {
    const em = db.orm.em.fork();
    const user = await makeUser(em);
    expect(await backend().hasPerm(user, 'core.view_language')).toBe(false);
    const group = await makeGroup(em, ['core.view_language']);
    em.create(UserGroup, { user, group });
    await em.flush();
    expect(await backend().hasPerm(user, 'core.view_language')).toBe(true);
  });
});
