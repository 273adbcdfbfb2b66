import { ActionFlag } from '../../src/audit/log-entry.entity';
import { Group } from '../../src/groups/group.entity';
import { Session } from '../../src/sessions/session.entity';
import { MembershipSource, UserGroup } from '../../src/users/user-group.entity';
import { User } from '../../src/users/user.entity';
import { verifyPassword } from '../../src/users/passwords';
import {
  CreateUserDocument as CREATE,
  DeleteUserDocument as DELETE,
  LoginDocument,
  MeDocument as ME,
  SetGroupPermissionsDocument,
  SetUserGroupsDocument as SET_GROUPS,
  SetUserPasswordDocument as SET_PASSWORD,
  SetUserPermissionsDocument as SET_PERMISSIONS,
  TweetsDocument as TWEETS,
  UpdateUserDocument as UPDATE,
  type CreateUserInput,
} from '../generated/graphql';
import { makeGroup, makeRule, makeUser } from '../support/factories';
import { startTestServer, TEST_PASSWORD, type SignedIn, type TestServer } from '../support/server';
import { logEntriesOf, userFields } from './support';
import { onlyError } from '../support/graphql-client';
import { globalIdOf, keyOf } from '../support/global-ids';

describe('user mutations', () => {
  let server: TestServer;
  let admin: SignedIn;
  const em = () => server.db.orm.em.fork();
  const find = (id: number | string) => em().findOne(User, typeof id === 'number' ? id : Number(keyOf(id)), { populate: ['password'] });

  beforeAll(async () => {
    server = await startTestServer();
    // It holds the core permissions it grants: a non-superuser grants only what it holds.
    admin = await server.signInWith(
      [
        'auth.add_user',
        'auth.change_user',
        'auth.delete_user',
        'auth.view_user',
        'auth.view_group',
        'auth.view_permission',
        'core.view_tweet',
        'core.view_language',
      ],
      { username: 'm-admin' },
    );
  });
  afterAll(() => server.stop());

  describe('Mutation.createUser', () => {
    it('creates a user with the given fields and logs the addition', async () => {
      const result = await server.graphql(
        CREATE,
        {
          input: {
            username: 'm-new.user',
            email: ' new@example.com ',
            firstName: 'New',
            lastName: 'User',
            password: 'a long enough password',
          },
        },
        admin.token,
      );
      expect(result.errors).toBeUndefined();
      expect(result.data!.createUser).toEqual({
        id: expect.any(String),
        username: 'm-new.user',
        email: 'new@example.com',
        firstName: 'New',
        lastName: 'User',
        isActive: true,
        isStaff: false,
        isSuperuser: false,
      });
      const stored = await find(result.data!.createUser.id);
      expect(stored!.password).toMatch(/^\$argon2id\$/);
      expect(await verifyPassword(stored!.password, 'a long enough password')).toBe(true);
      const [entry] = await logEntriesOf(server, 'user', stored!.id);
      expect(entry).toMatchObject({ actionFlag: ActionFlag.ADDITION, objectRepr: 'm-new.user', changeMessage: [{ added: {} }] });
      expect(entry.user?.id).toBe(admin.user.id);
    });

    it('creates a user without a usable password when none is given', async () => {
      const result = await server.graphql(CREATE, { input: { username: 'm-sso-only' } }, admin.token);
      expect((await find(result.data!.createUser.id))!.password).toBeNull();
    });

    it.each<[CreateUserInput, string]>([
      [{ username: 'has space' }, 'input.username'],
      [{ username: '' }, 'input.username'],
      [{ username: 'x'.repeat(151) }, 'input.username'],
      [{ username: 'm-ok1', email: 'not-an-address' }, 'input.email'],
      [{ username: 'm-ok2', email: `${'a'.repeat(250)}@example.com` }, 'input.email'],
      [{ username: 'm-ok3', firstName: 'x'.repeat(151) }, 'input.firstName'],
      [{ username: 'm-ok4', lastName: 'x'.repeat(151) }, 'input.lastName'],
      [{ username: 'm-ok5', password: 'short' }, 'input.password'],
    ])('refuses %j with BAD_USER_INPUT naming %s and writes nothing', async (input, field) => {
      const before = await server.db.snapshot();
      const error = onlyError(await server.graphql(CREATE, { input }, admin.token));
      expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
      expect(error.message.startsWith(`${field}:`)).toBe(true);
      expect(await server.db.snapshot()).toEqual(before);
    });

    it('refuses a taken username with CONFLICT naming input.username and writes nothing', async () => {
      await makeUser(em(), { username: 'm-taken' });
      const before = await server.db.snapshot();
      const error = onlyError(await server.graphql(CREATE, { input: { username: 'm-taken' } }, admin.token));
      expect(error.extensions).toEqual({ code: 'CONFLICT', field: 'input.username' });
      expect(await server.db.snapshot()).toEqual(before);
    });

    it('answers CONFLICT, never an internal error, when concurrent creations race for one username (the unique index decides)', async () => {
      const results = await Promise.all(
        Array.from({ length: 6 }, () => server.graphql(CREATE, { input: { username: 'm-race' } }, admin.token)),
      );
      const codes = results.map((r) => (r.errors ? r.errors[0].extensions?.code : 'OK'));
      expect(codes.filter((c) => c === 'OK')).toHaveLength(1);
      expect(codes.filter((c) => c !== 'OK')).toEqual(Array(5).fill('CONFLICT'));
      expect(results.filter((r) => r.errors).every((r) => r.errors![0].extensions?.field === 'input.username')).toBe(true);
      expect(await em().count(User, { username: 'm-race' })).toBe(1);
    });

    it('refuses a caller without auth.add_user with FORBIDDEN and writes nothing', async () => {
      const other = await server.signInWith(['auth.change_user', 'auth.view_user']);
      const before = await server.db.snapshot();
      expect(onlyError(await server.graphql(CREATE, { input: { username: 'm-nope' } }, other.token)).extensions).toEqual({
        code: 'FORBIDDEN',
        permission: 'auth.add_user',
      });
      expect(await server.db.snapshot()).toEqual(before);
    });
  });

  describe('Mutation.updateUser', () => {
    it('changes only the given fields and logs which fields changed', async () => {
      const target = await makeUser(em(), { username: 'm-upd' });
      const result = await server.graphql(
        UPDATE,
        { id: String(target.id), input: { email: 'upd@example.com', username: 'm-upd2' } },
        admin.token,
      );
      expect(result.data).toEqual({ updateUser: userFields(target, { username: 'm-upd2', email: 'upd@example.com' }) });
      const entries = await logEntriesOf(server, 'user', target.id);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ actionFlag: ActionFlag.CHANGE, objectRepr: 'm-upd2' });
      expect((entries[0].changeMessage as Array<{ changed: { fields: string[] } }>)[0].changed.fields.sort()).toEqual([
        'email',
        'username',
      ]);
    });

    it('writes nothing, not even a log entry, for a change that changes nothing', async () => {
      const target = await makeUser(em(), { username: 'm-same' });
      const result = await server.graphql(UPDATE, { id: String(target.id), input: { username: 'm-same', isActive: true } }, admin.token);
      expect(result.errors).toBeUndefined();
      expect(await logEntriesOf(server, 'user', target.id)).toEqual([]);
    });

    it('refuses a taken username with CONFLICT naming input.username and changes nothing', async () => {
      await makeUser(em(), { username: 'm-first' });
      const target = await makeUser(em(), { username: 'm-second' });
      const error = onlyError(
        await server.graphql(UPDATE, { id: String(target.id), input: { username: 'm-first', email: 'x@example.com' } }, admin.token),
      );
      expect(error.extensions).toEqual({ code: 'CONFLICT', field: 'input.username' });
      expect(await find(target.id)).toMatchObject({ username: 'm-second', email: '' });
      expect(await logEntriesOf(server, 'user', target.id)).toEqual([]);
    });

    it('refuses an invalid e-mail with BAD_USER_INPUT naming input.email and changes nothing', async () => {
      const target = await makeUser(em(), { username: 'm-badmail' });
      const error = onlyError(
        await server.graphql(UPDATE, { id: String(target.id), input: { username: 'm-renamed', email: 'nope@' } }, admin.token),
      );
      expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.email' });
      expect(await find(target.id)).toMatchObject({ username: 'm-badmail', email: '' });
    });

    it('answers NOT_FOUND for a user that does not exist, and BAD_USER_INPUT naming id for an id that cannot name a user', async () => {
      expect(onlyError(await server.graphql(UPDATE, { id: '999999', input: { email: 'a@example.com' } }, admin.token)).extensions).toEqual({
        code: 'NOT_FOUND',
        id: '999999',
      });
      for (const id of ['zzz', globalIdOf(await makeGroup(em()))])
        expect(onlyError(await server.graphql(UPDATE, { id, input: { email: 'a@example.com' } }, admin.token)).extensions).toEqual({
          code: 'BAD_USER_INPUT',
          field: 'id',
        });
    });
  });

  describe('Mutation.deleteUser', () => {
    it('deletes the user and their memberships, never the groups, returns the id and logs the deletion', async () => {
      const e = em();
      const group = await makeGroup(e, ['core.view_tweet']);
      const target = await makeUser(e, { username: 'm-doomed', groups: [group], perms: ['core.add_tweet'] });
      await server.signIn(target);
      const result = await server.graphql(DELETE, { id: String(target.id) }, admin.token);
      expect(result.data).toEqual({ deleteUser: { deletedId: globalIdOf(target) } });
      expect(await em().count(User, { id: target.id })).toBe(0);
      expect(await em().count(UserGroup, { user: target.id })).toBe(0);
      expect(await em().count(Session, { user: target.id })).toBe(0);
      expect(await em().count(Group, { id: group.id })).toBe(1);
      const [entry] = await logEntriesOf(server, 'user', target.id);
      expect(entry).toMatchObject({ actionFlag: ActionFlag.DELETION, objectRepr: 'm-doomed', changeMessage: [{ deleted: {} }] });
    });

    it('refuses to delete the caller’s own account with BAD_USER_INPUT', async () => {
      const error = onlyError(await server.graphql(DELETE, { id: String(admin.user.id) }, admin.token));
      expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'id', rule: 'selfDeletion' });
      expect(await em().count(User, { id: admin.user.id })).toBe(1);
    });

    it('refuses a caller without auth.delete_user with FORBIDDEN and deletes nothing', async () => {
      const target = await makeUser(em());
      const other = await server.signInWith(['auth.change_user', 'auth.view_user']);
      expect(onlyError(await server.graphql(DELETE, { id: String(target.id) }, other.token)).extensions).toEqual({
        code: 'FORBIDDEN',
        permission: 'auth.delete_user',
      });
      expect(await em().count(User, { id: target.id })).toBe(1);
    });
  });

  describe('Mutation.setUserPassword', () => {
    it('sets a password the user can sign in with, ends all their sessions and logs the change', async () => {
      const target = await makeUser(em(), { username: 'm-pw' });
      const first = await server.signIn(target);
      const second = await server.signIn(target);
      const result = await server.graphql(SET_PASSWORD, { id: String(target.id), password: 'a brand new password' }, admin.token);
      expect(result.errors).toBeUndefined();
      for (const token of [first, second]) expect((await server.graphql(ME, {}, token)).data).toEqual({ me: null });
      expect(await em().count(Session, { user: target.id })).toBe(0);
      const login = await server.graphql(LoginDocument, { username: 'm-pw', password: 'a brand new password' });
      expect(login.errors).toBeUndefined();
      const entries = await logEntriesOf(server, 'user', target.id);
      expect(entries.at(-1)).toMatchObject({ actionFlag: ActionFlag.CHANGE, changeMessage: [{ changed: { fields: ['password'] } }] });
      expect(JSON.stringify(entries)).not.toContain('a brand new password');
    });

    it('keeps the caller’s current session when they change their own password, ending their others', async () => {
      const self = await server.signInWith(['auth.change_user']);
      const other = await server.signIn(self.user);
      const result = await server.graphql(
        SET_PASSWORD,
        { id: String(self.user.id), password: 'my own new password', currentPassword: TEST_PASSWORD },
        self.token,
      );
      expect(result.errors).toBeUndefined();
      expect((await server.graphql(ME, {}, self.token)).data?.me).not.toBeNull();
      expect((await server.graphql(ME, {}, other)).data).toEqual({ me: null });
    });

    it('refuses a short password with BAD_USER_INPUT naming password and changes nothing', async () => {
      const target = await makeUser(em());
      const token = await server.signIn(target);
      const before = (await find(target.id))!.password;
      expect(onlyError(await server.graphql(SET_PASSWORD, { id: String(target.id), password: 'short' }, admin.token)).extensions).toEqual({
        code: 'BAD_USER_INPUT',
        field: 'password',
      });
      expect((await find(target.id))!.password).toBe(before);
      expect((await server.graphql(ME, {}, token)).data?.me).not.toBeNull();
    });
  });

  describe('Mutation.setUserGroups', () => {
    it('sets the admin-assigned groups, keeps those granted by single sign-on rules, and logs what was added and removed', async () => {
      const e = em();
      const [alpha, beta, gamma, sso] = [
        await makeGroup(e, [], 'sg-alpha'),
        await makeGroup(e, [], 'sg-beta'),
        await makeGroup(e, [], 'sg-gamma'),
        await makeGroup(e, [], 'sg-sso'),
      ];
      const target = await makeUser(e, { groups: [alpha, beta] });
      e.create(UserGroup, { user: target, group: sso, source: MembershipSource.SSO_RULE, rule: await makeRule(e, sso) });
      await e.flush();

      const result = await server.graphql(
        SET_GROUPS,
        { id: String(target.id), groupIds: [String(beta.id), String(gamma.id), String(gamma.id)] },
        admin.token,
      );
      expect(result.errors).toBeUndefined();
      expect(result.data!.setUserGroups.groups!.map((g) => g.name)).toEqual(['sg-beta', 'sg-gamma', 'sg-sso']);
      expect(result.data!.setUserGroups.memberships).toEqual([
        { group: { name: 'sg-beta' }, source: 'ADMIN' },
        { group: { name: 'sg-gamma' }, source: 'ADMIN' },
        { group: { name: 'sg-sso' }, source: 'SSO_RULE' },
      ]);
      const entries = await logEntriesOf(server, 'user', target.id);
      expect(entries.at(-1)).toMatchObject({
        actionFlag: ActionFlag.CHANGE,
        changeMessage: [{ changed: { fields: ['groups'], added: ['sg-gamma'], removed: ['sg-alpha'] } }],
      });

      // An empty list removes every admin-assigned membership; the rule's stays.
      const cleared = await server.graphql(SET_GROUPS, { id: String(target.id), groupIds: [] }, admin.token);
      expect(cleared.data!.setUserGroups.groups!.map((g) => g.name)).toEqual(['sg-sso']);
    });

    it('refuses unknown group ids with BAD_USER_INPUT naming groupIds and each unknown id, changing nothing', async () => {
      const e = em();
      const kept = await makeGroup(e, []);
      const target = await makeUser(e, { groups: [kept] });
      const before = await server.db.snapshot();
      const error = onlyError(
        await server.graphql(SET_GROUPS, { id: String(target.id), groupIds: [String(kept.id), '999998', '999999'] }, admin.token),
      );
      expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'groupIds', unknown: ['999998', '999999'] });
      expect(error.message).toContain('999998');
      expect(await server.db.snapshot()).toEqual(before);
      const malformed = onlyError(await server.graphql(SET_GROUPS, { id: String(target.id), groupIds: ['abc'] }, admin.token));
      expect(malformed.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'groupIds', unknown: ['abc'] });
    });
  });

  describe('Mutation.setUserPermissions', () => {
    it('sets the direct permissions by full name and logs what was added and removed', async () => {
      const target = await makeUser(em(), { perms: ['core.view_tweet', 'core.add_tweet'] });
      const result = await server.graphql(
        SET_PERMISSIONS,
        { id: String(target.id), permissions: ['core.view_tweet', 'core.view_language', 'core.view_language'] },
        admin.token,
      );
      expect(result.errors).toBeUndefined();
      expect(result.data!.setUserPermissions.userPermissions!.map((p) => p.fullName).sort()).toEqual([
        'core.view_language',
        'core.view_tweet',
      ]);
      const entries = await logEntriesOf(server, 'user', target.id);
      expect(entries.at(-1)).toMatchObject({
        changeMessage: [{ changed: { fields: ['userPermissions'], added: ['core.view_language'], removed: ['core.add_tweet'] } }],
      });
    });

    it('refuses unknown permission names with BAD_USER_INPUT naming them all, changing nothing', async () => {
      const target = await makeUser(em(), { perms: ['core.view_tweet'] });
      const before = await server.db.snapshot();
      const error = onlyError(
        await server.graphql(
          SET_PERMISSIONS,
          { id: String(target.id), permissions: ['core.view_tweet', 'core.fly_tweet', 'nonsense'] },
          admin.token,
        ),
      );
      expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'permissions', unknown: ['core.fly_tweet', 'nonsense'] });
      expect(error.message).toContain('core.fly_tweet');
      expect(error.message).toContain('nonsense');
      expect(await server.db.snapshot()).toEqual(before);
    });
  });

  describe('a change to a user’s grants applies to their very next request', () => {
    it('through direct permissions, through groups, and through a group’s permissions', async () => {
      const subject = await server.signInWith([]);
      const groupAdmin = await server.signInWith(['auth.change_group', 'auth.view_group']);
      const denied = (r: { errors?: Array<{ extensions?: Record<string, unknown> }> }) => r.errors?.[0]?.extensions?.code === 'FORBIDDEN';

      expect(denied(await server.graphql(TWEETS, { first: 1 }, subject.token))).toBe(true);
      await server.graphql(SET_PERMISSIONS, { id: String(subject.user.id), permissions: ['core.view_tweet'] }, admin.token);
      expect(denied(await server.graphql(TWEETS, { first: 1 }, subject.token))).toBe(false);
      await server.graphql(SET_PERMISSIONS, { id: String(subject.user.id), permissions: [] }, admin.token);
      expect(denied(await server.graphql(TWEETS, { first: 1 }, subject.token))).toBe(true);

      const group = await makeGroup(em(), ['core.view_tweet']);
      await server.graphql(SET_GROUPS, { id: String(subject.user.id), groupIds: [String(group.id)] }, admin.token);
      expect(denied(await server.graphql(TWEETS, { first: 1 }, subject.token))).toBe(false);
      await server.graphql(SetGroupPermissionsDocument, { id: String(group.id), permissions: [] }, groupAdmin.token);
      expect(denied(await server.graphql(TWEETS, { first: 1 }, subject.token))).toBe(true);
      expect((await server.graphql(ME, {}, subject.token)).data!.me!.permissions).toEqual([]);
    });
  });
});
