import { MembershipSource, UserGroup } from '../../src/users/user-group.entity';
import { makeGroup, makeRule, makeUser } from '../support/factories';
import { MyGroupsDocument, SchemaTypesDocument, UserGrantsDocument as USER } from '../generated/graphql';
import { startTestServer, type TestServer } from '../support/server';
import { globalIdOf } from '../support/global-ids';

describe('User fields', () => {
  let server: TestServer;
  const em = () => server.db.orm.em.fork();
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('lists each group once however many memberships lead to it, with sources and rules in memberships', async () => {
    const e = em();
    const editors = await makeGroup(e, ['core.view_tweet', 'core.change_tweet'], 'f-editors');
    const viewers = await makeGroup(e, ['core.view_tweet'], 'f-viewers');
    const target = await makeUser(e, { groups: [editors], perms: ['core.add_language'] });
    const rule = await makeRule(e, editors);
    const viewerRule = await makeRule(e, viewers);
    e.create(UserGroup, { user: target, group: editors, source: MembershipSource.SSO_RULE, rule });
    e.create(UserGroup, { user: target, group: viewers, source: MembershipSource.SSO_RULE, rule: viewerRule });
    await e.flush();
    const reader = await server.signInWith(['auth.view_user', 'auth.view_group', 'auth.view_permission']);

    const result = await server.graphql(USER, { id: String(target.id) }, reader.token);
    expect(result.errors).toBeUndefined();
    const user = result.data!.user!;
    expect(user.groups).toEqual([
      {
        name: 'f-editors',
        permissions: [
          { appLabel: 'core', codename: 'change_tweet', fullName: 'core.change_tweet' },
          { appLabel: 'core', codename: 'view_tweet', fullName: 'core.view_tweet' },
        ],
      },
      { name: 'f-viewers', permissions: [{ appLabel: 'core', codename: 'view_tweet', fullName: 'core.view_tweet' }] },
    ]);
    expect(user.memberships).toEqual([
      { group: { name: 'f-editors' }, source: 'ADMIN', ruleId: null },
      { group: { name: 'f-editors' }, source: 'SSO_RULE', ruleId: globalIdOf(rule) },
      { group: { name: 'f-viewers' }, source: 'SSO_RULE', ruleId: globalIdOf(viewerRule) },
    ]);
    expect(user.userPermissions).toEqual([{ fullName: 'core.add_language' }]);
  });

  it('refuses groups to a caller without auth.view_group and permissions without auth.view_permission, field by field', async () => {
    const e = em();
    const group = await makeGroup(e, ['core.view_tweet']);
    const target = await makeUser(e, { groups: [group], perms: ['core.view_tweet'] });
    const reader = await server.signInWith(['auth.view_user']);
    const result = await server.graphql(USER, { id: String(target.id) }, reader.token);
    // The rest of the user is still there; each guarded field is null with its own error.
    expect(result.data).toEqual({ user: { username: target.username, groups: null, memberships: null, userPermissions: null } });
    const errors = (result.errors ?? []).map((error) => ({ path: error.path?.join('.'), ...error.extensions }));
    expect(errors).toEqual(
      expect.arrayContaining([
        { path: 'user.groups', code: 'FORBIDDEN', permission: 'auth.view_group' },
        { path: 'user.memberships', code: 'FORBIDDEN', permission: 'auth.view_group' },
        { path: 'user.userPermissions', code: 'FORBIDDEN', permission: 'auth.view_permission' },
      ]),
    );
    expect(errors).toHaveLength(3);
  });

  it('gives the signed-in user their own groups through `me` too', async () => {
    const group = await makeGroup(em(), ['auth.view_group'], 'f-self');
    const caller = await server.signInWith([], { groups: [group] });
    const result = await server.graphql(MyGroupsDocument, {}, caller.token);
    expect(result.errors).toBeUndefined();
    expect(result.data!.me!.user.groups!.map((g) => g.name)).toContain('f-self');
  });
});

describe('the schema', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('exposes no password or password hash in any output type (introspection)', async () => {
    const result = await server.graphql(SchemaTypesDocument);
    expect(result.errors).toBeUndefined();
    // Output data types; the root types hold operations (setUserPassword takes a password, returns a User).
    const outputTypes = result.data!.__schema.types.filter(
      (t) => (t.kind === 'OBJECT' || t.kind === 'INTERFACE') && !['Query', 'Mutation', 'Subscription'].includes(t.name ?? ''),
    );
    expect(outputTypes.map((t) => t.name)).toEqual(expect.arrayContaining(['User', 'Group', 'Membership', 'Me', 'LoginResult']));
    const leaks = outputTypes.flatMap((t) =>
      (t.fields ?? []).filter((f) => /password|passwordhash|hash/i.test(f.name)).map((f) => `${t.name}.${f.name}`),
    );
    expect(leaks).toEqual([]);
  });
});
