import { ActionFlag } from '../../src/audit/log-entry.entity';
import { Group } from '../../src/groups/group.entity';
import { GroupMappingRule } from '../../src/sso/group-mapping-rule.entity';
import { MembershipSource, UserGroup } from '../../src/users/user-group.entity';
import { User } from '../../src/users/user.entity';
import { makeGroup, makeRule, makeUser } from '../support/factories';
import {
  CreateGroupDocument as CREATE,
  DeleteGroupDocument as DELETE,
  GroupDocument as GROUP,
  GroupsDocument as GROUPS,
  GroupsWithMembersDocument,
  SetGroupPermissionsDocument as SET_PERMISSIONS,
  UpdateGroupDocument as UPDATE,
  type GroupsQuery,
} from '../generated/graphql';
import { startTestServer, type SignedIn, type TestServer } from '../support/server';
import { logEntriesOf } from '../users/support';
import { onlyError } from '../support/graphql-client';
import { globalIdOf } from '../support/global-ids';

describe('groups', () => {
  let server: TestServer;
  let admin: SignedIn;
  const em = () => server.db.orm.em.fork();
  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.signInWith([
      'auth.add_group',
      'auth.change_group',
      'auth.delete_group',
      'auth.view_group',
      'auth.view_user',
      'auth.view_permission',
      // The permissions it grants: a non-superuser grants only what it holds.
      'core.view_tweet',
      'core.delete_tweet',
    ]);
  });
  afterAll(() => server.stop());

  describe('Query.groups', () => {
    it('lists groups by name, searching case-insensitively, in pages with cursors', async () => {
      const e = em();
      for (const name of ['gq-Support', 'gq-viewers', 'gq-editors', 'gq-Admins']) await makeGroup(e, [], name);
      const all = await server.graphql(GROUPS, { filter: { search: 'GQ-' } }, admin.token);
      expect(all.data!.groups.edges.map((e) => e.node.name)).toEqual(['gq-Admins', 'gq-Support', 'gq-editors', 'gq-viewers']);
      expect(all.data!.groups.totalCount).toBe(4);
      expect(
        (await server.graphql(GROUPS, { filter: { search: 'VIEW' } }, admin.token)).data!.groups.edges.map((e) => e.node.name),
      ).toEqual(['gq-viewers']);
      const names: string[] = [];
      let after: string | null = null;
      do {
        const page: GroupsQuery['groups'] = (await server.graphql(GROUPS, { filter: { search: 'gq-' }, first: 3, after }, admin.token))
          .data!.groups;
        names.push(...page.edges.map((e) => e.node.name));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      } while (after);
      expect(names).toEqual(['gq-Admins', 'gq-Support', 'gq-editors', 'gq-viewers']);
    });

    it('refuses a caller without auth.view_group with FORBIDDEN', async () => {
      const other = await server.signInWith(['auth.view_user']);
      expect(onlyError(await server.graphql(GROUPS, {}, other.token)).extensions).toEqual({
        code: 'FORBIDDEN',
        permission: 'auth.view_group',
      });
    });
  });

  describe('Query.group', () => {
    it('returns the group with its permissions and its members (each once) as a connection', async () => {
      const e = em();
      const group = await makeGroup(e, ['core.view_tweet', 'core.add_tweet'], 'gq-members');
      const users = [];
      for (const name of ['gm-carol', 'gm-alice', 'gm-bob']) users.push(await makeUser(e, { username: name, groups: [group] }));
      // alice is also a member through a rule: still listed and counted once.
      e.create(UserGroup, { user: users[1], group, source: MembershipSource.SSO_RULE, rule: await makeRule(e, group) });
      await e.flush();

      const first = await server.graphql(GROUP, { id: String(group.id), first: 2 }, admin.token);
      expect(first.errors).toBeUndefined();
      expect(first.data!.group!.permissions!.map((p) => p.fullName).sort()).toEqual(['core.add_tweet', 'core.view_tweet']);
      expect(first.data!.group!.users!.edges.map((e) => e.node.username)).toEqual(['gm-alice', 'gm-bob']);
      expect(first.data!.group!.users!.totalCount).toBe(3);
      expect(first.data!.group!.users!.pageInfo.hasNextPage).toBe(true);
      const next = await server.graphql(
        GROUP,
        { id: String(group.id), first: 2, after: first.data!.group!.users!.pageInfo.endCursor },
        admin.token,
      );
      expect(next.data!.group!.users!.edges.map((e) => e.node.username)).toEqual(['gm-carol']);
      expect(next.data!.group!.users!.pageInfo.hasNextPage).toBe(false);
    });

    it('returns null for a group that does not exist', async () => {
      expect((await server.graphql(GROUP, { id: '999999' }, admin.token)).data).toEqual({ group: null });
    });

    it('loads members and permissions of a whole page of groups in one statement each', async () => {
      const e = em();
      for (let i = 0; i < 6; i++) {
        const group = await makeGroup(e, ['core.view_tweet'], `gb-${i}`);
        await makeUser(e, { username: `gb-user-${i}`, groups: [group] });
      }
      server.resetQueries();
      const result = await server.graphql(GroupsWithMembersDocument, { filter: { search: 'gb-' } }, admin.token);
      expect(result.errors).toBeUndefined();
      // session with the caller's permissions, the page, permissions of all groups, members of all groups, their counts
      expect(server.queries).toHaveLength(5);
    });
  });

  describe('Mutation.createGroup and Mutation.updateGroup', () => {
    it('creates and renames a group, logging both', async () => {
      const created = await server.graphql(CREATE, { input: { name: '  gq-new  ' } }, admin.token);
      expect(created.data!.createGroup.name).toBe('gq-new');
      const id = created.data!.createGroup.id;
      const renamed = await server.graphql(UPDATE, { id, input: { name: 'gq-renamed' } }, admin.token);
      expect(renamed.data).toEqual({ updateGroup: { id, name: 'gq-renamed' } });
      const entries = await logEntriesOf(server, 'group', id);
      expect(entries.map((e) => [e.actionFlag, e.changeMessage])).toEqual([
        [ActionFlag.ADDITION, [{ added: {} }]],
        [ActionFlag.CHANGE, [{ changed: { fields: ['name'] } }]],
      ]);
      expect(entries.every((e) => e.user?.id === admin.user.id)).toBe(true);
    });

    it.each([
      ['', 'BAD_USER_INPUT'],
      ['   ', 'BAD_USER_INPUT'],
      ['x'.repeat(151), 'BAD_USER_INPUT'],
    ])('refuses the name %j with %s naming input.name and writes nothing', async (name, code) => {
      const before = await server.db.snapshot();
      expect(onlyError(await server.graphql(CREATE, { input: { name } }, admin.token)).extensions).toEqual({ code, field: 'input.name' });
      expect(await server.db.snapshot()).toEqual(before);
    });

    it('refuses a taken name with CONFLICT naming input.name, on creation and on renaming', async () => {
      await makeGroup(em(), [], 'gq-taken');
      const other = await makeGroup(em(), [], 'gq-other');
      expect(onlyError(await server.graphql(CREATE, { input: { name: 'gq-taken' } }, admin.token)).extensions).toEqual({
        code: 'CONFLICT',
        field: 'input.name',
      });
      expect(
        onlyError(await server.graphql(UPDATE, { id: String(other.id), input: { name: 'gq-taken' } }, admin.token)).extensions,
      ).toEqual({ code: 'CONFLICT', field: 'input.name' });
      expect((await em().findOneOrFail(Group, other.id)).name).toBe('gq-other');
    });

    it('refuses a caller without auth.add_group with FORBIDDEN and creates nothing', async () => {
      const other = await server.signInWith(['auth.view_group', 'auth.change_group']);
      const before = await server.db.snapshot();
      expect(onlyError(await server.graphql(CREATE, { input: { name: 'gq-nope' } }, other.token)).extensions).toEqual({
        code: 'FORBIDDEN',
        permission: 'auth.add_group',
      });
      expect(await server.db.snapshot()).toEqual(before);
    });
  });

  describe('Mutation.deleteGroup', () => {
    it('removes the group, its memberships (admin and rule) and its rules, never its members, and logs how many', async () => {
      const e = em();
      const group = await makeGroup(e, ['core.view_tweet'], 'gq-doomed');
      const member = await makeUser(e, { groups: [group] });
      const rule = await makeRule(e, group);
      e.create(UserGroup, { user: member, group, source: MembershipSource.SSO_RULE, rule });
      await e.flush();
      const result = await server.graphql(DELETE, { id: String(group.id) }, admin.token);
      expect(result.data).toEqual({ deleteGroup: { deletedId: globalIdOf(group) } });
      expect(await em().count(Group, { id: group.id })).toBe(0);
      expect(await em().count(UserGroup, { group: group.id })).toBe(0);
      expect(await em().count(GroupMappingRule, { id: rule.id })).toBe(0);
      expect(await em().count(User, { id: member.id })).toBe(1);
      const [entry] = await logEntriesOf(server, 'group', group.id);
      expect(entry).toMatchObject({
        actionFlag: ActionFlag.DELETION,
        objectRepr: 'gq-doomed',
        changeMessage: [{ deleted: { members: 1, mappingRules: 1 } }],
      });
    });

    it('answers NOT_FOUND for a group that does not exist, and FORBIDDEN without auth.delete_group first', async () => {
      expect(onlyError(await server.graphql(DELETE, { id: '999999' }, admin.token)).extensions).toEqual({
        code: 'NOT_FOUND',
        id: '999999',
      });
      const other = await server.signInWith(['auth.view_group']);
      expect(onlyError(await server.graphql(DELETE, { id: '999999' }, other.token)).extensions).toEqual({
        code: 'FORBIDDEN',
        permission: 'auth.delete_group',
      });
    });
  });

  describe('Mutation.setGroupPermissions', () => {
    it('sets the permissions by full name and logs what was added and removed', async () => {
      const group = await makeGroup(em(), ['core.view_tweet', 'core.add_tweet'], 'gq-perms');
      const result = await server.graphql(
        SET_PERMISSIONS,
        { id: String(group.id), permissions: ['core.view_tweet', 'core.delete_tweet'] },
        admin.token,
      );
      expect(result.data!.setGroupPermissions.permissions!.map((p) => p.fullName).sort()).toEqual(['core.delete_tweet', 'core.view_tweet']);
      const [entry] = await logEntriesOf(server, 'group', group.id);
      expect(entry.changeMessage).toEqual([
        { changed: { fields: ['permissions'], added: ['core.delete_tweet'], removed: ['core.add_tweet'] } },
      ]);
    });

    it('refuses unknown names with BAD_USER_INPUT naming them, changing nothing', async () => {
      const group = await makeGroup(em(), ['core.view_tweet'], 'gq-perms2');
      const before = await server.db.snapshot();
      const error = onlyError(
        await server.graphql(
          SET_PERMISSIONS,
          { id: String(group.id), permissions: ['core.view_tweet', 'core.view_tweets', 'auth.sudo'] },
          admin.token,
        ),
      );
      expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'permissions', unknown: ['core.view_tweets', 'auth.sudo'] });
      expect(error.message).toBe('permissions: no permission "core.view_tweets", "auth.sudo"');
      expect(await server.db.snapshot()).toEqual(before);
    });
  });
});
