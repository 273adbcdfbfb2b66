import { ALL_PERMISSIONS } from '../../src/permissions/registry';
import { GroupMappingRule } from '../../src/sso/group-mapping-rule.entity';
import { UserGroup } from '../../src/users/user-group.entity';
import { User } from '../../src/users/user.entity';
import {
  CreateGroupMappingRuleDocument as CREATE_RULE,
  ExplainGrantableDocument as EXPLAIN,
  PermissionCatalogDescriptionsDocument as CATALOG,
  SetGroupPermissionsDocument as SET_GROUP_PERMISSIONS,
  SetUserGroupsDocument as SET_GROUPS,
  SetUserPermissionsDocument as SET_PERMISSIONS,
  UpdateGroupMappingRuleDocument as UPDATE_RULE,
} from '../generated/graphql';
import { makeGroup, makeRule, makeUser } from '../support/factories';
import { onlyError } from '../support/graphql-client';
import { startTestServer, type TestServer } from '../support/server';

const EVERY_PERMISSION = ALL_PERMISSIONS.map((p) => p.fullName);

/*
 * No granting beyond your own: a holder of auth.change_user or auth.change_group (or of the
 * mapping-rule permissions) may give away only what it holds, and may not touch its own grants.
 * Each attack is made over HTTP as the attacker would, refused with FORBIDDEN naming what is
 * lacking, and the database is unchanged.
 */
describe('no granting beyond your own', () => {
  let server: TestServer;
  const em = () => server.db.orm.em.fork();
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  const lacking = (held: readonly string[]) => EVERY_PERMISSION.filter((p) => !held.includes(p)).sort();

  describe('the attacks found on main', () => {
    it('refuses a holder of auth.change_user giving itself every permission through setUserPermissions on its own id', async () => {
      const attacker = await server.signInWith(['auth.change_user', 'auth.view_user']);
      const before = await server.db.snapshot();
      const error = onlyError(
        await server.graphql(SET_PERMISSIONS, { id: String(attacker.user.id), permissions: EVERY_PERMISSION }, attacker.token),
      );
      expect(error).toEqual({
        message: 'you cannot change your own groups or permissions',
        extensions: { code: 'FORBIDDEN', rule: 'ownGrants', field: 'permissions' },
      });
      expect(await server.db.snapshot()).toEqual(before);
    });

    it('refuses it even for permissions it already holds (no change of its own grants at all)', async () => {
      const attacker = await server.signInWith(['auth.change_user']);
      const before = await server.db.snapshot();
      const error = onlyError(
        await server.graphql(SET_PERMISSIONS, { id: String(attacker.user.id), permissions: ['auth.change_user'] }, attacker.token),
      );
      expect(error.extensions).toEqual({ code: 'FORBIDDEN', rule: 'ownGrants', field: 'permissions' });
      expect(await server.db.snapshot()).toEqual(before);
    });

    it('refuses a holder of auth.change_user joining a group that holds everything through setUserGroups on its own id', async () => {
      const everything = await makeGroup(em(), EVERY_PERMISSION);
      const attacker = await server.signInWith(['auth.change_user']);
      const before = await server.db.snapshot();
      const error = onlyError(
        await server.graphql(SET_GROUPS, { id: String(attacker.user.id), groupIds: [String(everything.id)] }, attacker.token),
      );
      expect(error.extensions).toEqual({ code: 'FORBIDDEN', rule: 'ownGrants', field: 'groupIds' });
      expect(await server.db.snapshot()).toEqual(before);
      expect(await em().count(UserGroup, { user: attacker.user.id, group: everything.id })).toBe(0);
    });

    it('refuses a holder of auth.change_group adding every permission to its own group, naming each permission it lacks', async () => {
      const attacker = await server.signInWith(['auth.change_group', 'auth.view_group']);
      const [own] = await em().find(UserGroup, { user: attacker.user.id }, { populate: ['group'] });
      const before = await server.db.snapshot();
      const error = onlyError(
        await server.graphql(SET_GROUP_PERMISSIONS, { id: String(own.group.id), permissions: EVERY_PERMISSION }, attacker.token),
      );
      const missing = lacking(['auth.change_group', 'auth.view_group']);
      expect(error).toEqual({
        message: `you may grant only permissions you hold yourself; you lack ${missing.join(', ')}`,
        extensions: { code: 'FORBIDDEN', rule: 'grantBeyondOwn', field: 'permissions', permissions: missing },
      });
      expect(await server.db.snapshot()).toEqual(before);
    });
  });

  describe('granting to others', () => {
    it('refuses a permission it does not hold to another user, naming it, and writes nothing', async () => {
      const admin = await server.signInWith(['auth.change_user', 'core.view_tweet']);
      const target = await makeUser(em());
      const before = await server.db.snapshot();
      const error = onlyError(
        await server.graphql(
          SET_PERMISSIONS,
          { id: String(target.id), permissions: ['core.view_tweet', 'core.delete_tweet', 'auth.delete_user'] },
          admin.token,
        ),
      );
      expect(error.extensions).toEqual({
        code: 'FORBIDDEN',
        rule: 'grantBeyondOwn',
        field: 'permissions',
        permissions: ['auth.delete_user', 'core.delete_tweet'],
      });
      expect(await server.db.snapshot()).toEqual(before);
    });

    it('grants another user what it holds, and takes away what it does not hold', async () => {
      // auth.view_* only for the fields the document selects.
      const admin = await server.signInWith(['auth.change_user', 'auth.view_group', 'auth.view_permission', 'core.view_tweet']);
      const target = await makeUser(em(), { perms: ['core.delete_tweet'] });
      const result = await server.graphql(SET_PERMISSIONS, { id: String(target.id), permissions: ['core.view_tweet'] }, admin.token);
      expect(result.errors).toBeUndefined();
      const after = await em().findOneOrFail(User, target.id, { populate: ['userPermissions'] });
      expect(after.userPermissions.getItems().map((p) => p.fullName)).toEqual(['core.view_tweet']);
    });

    it('refuses putting another user in a group with a permission it lacks, naming it; allows a group whose every permission it holds', async () => {
      const admin = await server.signInWith(['auth.change_user', 'auth.view_group', 'auth.view_permission', 'core.view_tweet']);
      const target = await makeUser(em());
      const wider = await makeGroup(em(), ['core.view_tweet', 'core.change_tweet']);
      const narrower = await makeGroup(em(), ['core.view_tweet']);
      const before = await server.db.snapshot();
      const error = onlyError(
        await server.graphql(SET_GROUPS, { id: String(target.id), groupIds: [String(wider.id), String(narrower.id)] }, admin.token),
      );
      expect(error.extensions).toEqual({
        code: 'FORBIDDEN',
        rule: 'grantBeyondOwn',
        field: 'groupIds',
        permissions: ['core.change_tweet'],
      });
      expect(await server.db.snapshot()).toEqual(before);

      const allowed = await server.graphql(SET_GROUPS, { id: String(target.id), groupIds: [String(narrower.id)] }, admin.token);
      expect(allowed.errors).toBeUndefined();
      expect(await em().count(UserGroup, { user: target.id, group: narrower.id })).toBe(1);
    });

    it('refuses adding to a group a permission it lacks; allows what it holds', async () => {
      const admin = await server.signInWith(['auth.change_group', 'auth.view_permission', 'core.view_tweet']);
      const group = await makeGroup(em());
      const before = await server.db.snapshot();
      const error = onlyError(
        await server.graphql(
          SET_GROUP_PERMISSIONS,
          { id: String(group.id), permissions: ['core.view_tweet', 'core.add_tweet'] },
          admin.token,
        ),
      );
      expect(error.extensions).toEqual({
        code: 'FORBIDDEN',
        rule: 'grantBeyondOwn',
        field: 'permissions',
        permissions: ['core.add_tweet'],
      });
      expect(await server.db.snapshot()).toEqual(before);
      const allowed = await server.graphql(SET_GROUP_PERMISSIONS, { id: String(group.id), permissions: ['core.view_tweet'] }, admin.token);
      expect(allowed.errors).toBeUndefined();
    });

    it('refuses a mapping rule into a group whose permissions it does not all hold, on create and on update', async () => {
      const admin = await server.signInWith(['sso.add_groupmappingrule', 'sso.change_groupmappingrule', 'core.view_tweet']);
      const powerful = await makeGroup(em(), ['core.view_tweet', 'auth.change_user']);
      const harmless = await makeGroup(em(), ['core.view_tweet']);
      const before = await server.db.snapshot();
      const error = onlyError(
        await server.graphql(CREATE_RULE, { input: { pattern: 'ATTACKERS', groupId: String(powerful.id) } }, admin.token),
      );
      expect(error.extensions).toEqual({
        code: 'FORBIDDEN',
        rule: 'grantBeyondOwn',
        field: 'input.groupId',
        permissions: ['auth.change_user'],
      });
      expect(await server.db.snapshot()).toEqual(before);

      // A rule already pointing at the powerful group may not be widened by someone who lacks its permissions.
      const existing = await makeRule(em(), powerful, 'ADMINS');
      const unchanged = await server.db.snapshot();
      const widen = onlyError(await server.graphql(UPDATE_RULE, { id: String(existing.id), input: { pattern: 'EVERYONE' } }, admin.token));
      expect(widen.extensions).toMatchObject({ code: 'FORBIDDEN', rule: 'grantBeyondOwn', permissions: ['auth.change_user'] });
      expect(await server.db.snapshot()).toEqual(unchanged);
      expect((await em().findOneOrFail(GroupMappingRule, existing.id)).pattern).toBe('ADMINS');

      const allowed = await server.graphql(CREATE_RULE, { input: { pattern: 'VIEWERS', groupId: String(harmless.id) } }, admin.token);
      expect(allowed.errors).toBeUndefined();
    });
  });

  describe('superusers', () => {
    it('are unaffected: they grant anything, to others and to themselves', async () => {
      const root = await server.signInAsSuperuser();
      const target = await makeUser(em());
      const everything = await makeGroup(em(), EVERY_PERMISSION);
      expect(
        (await server.graphql(SET_PERMISSIONS, { id: String(target.id), permissions: EVERY_PERMISSION }, root.token)).errors,
      ).toBeUndefined();
      expect(
        (await server.graphql(SET_GROUPS, { id: String(root.user.id), groupIds: [String(everything.id)] }, root.token)).errors,
      ).toBeUndefined();
      expect(
        (await server.graphql(SET_PERMISSIONS, { id: String(root.user.id), permissions: ['core.view_tweet'] }, root.token)).errors,
      ).toBeUndefined();
    });
  });

  describe('what the schema says of the rule', () => {
    it('explainPermission tells whether the user may grant the permission: exactly what it holds', async () => {
      const viewer = await server.signInWith(['auth.view_user']);
      const holder = await makeUser(em(), { perms: ['core.view_tweet'] });
      const root = await makeUser(em(), { isSuperuser: true });
      const ask = async (userId: number, permission: string) =>
        (await server.graphql(EXPLAIN, { userId: String(userId), permission }, viewer.token)).data?.explainPermission;
      expect(await ask(holder.id, 'core.view_tweet')).toEqual({ granted: true, grantable: true });
      expect(await ask(holder.id, 'core.add_tweet')).toEqual({ granted: false, grantable: false });
      expect(await ask(root.id, 'core.add_tweet')).toEqual({ granted: true, grantable: true });
    });

    it('the permission catalogue describes every operation that grants with the rule', async () => {
      const { token } = await server.signInWith([]);
      const catalog = (await server.graphql(CATALOG, {}, token)).data!.permissionCatalog;
      const describes = (coordinate: string) => catalog.find((entry) => entry.coordinate === coordinate)?.description ?? '';
      for (const coordinate of [
        'Mutation.setUserPermissions',
        'Mutation.setUserGroups',
        'Mutation.setGroupPermissions',
        'Mutation.createGroupMappingRule',
        'Mutation.updateGroupMappingRule',
      ]) {
        expect({ coordinate, description: describes(coordinate) }).toEqual({
          coordinate,
          description: expect.stringContaining('A non-superuser may grant only permissions it holds itself'),
        });
      }
    });
  });
});
