import { QUERY_LIMITS } from '../../src/graphql/limits';
import { PermissionBackend } from '../../src/permissions/has-perm';
import { ALL_PERMISSIONS } from '../../src/permissions/registry';
import { MembershipSource, UserGroup } from '../../src/users/user-group.entity';
import type { User } from '../../src/users/user.entity';
import { SsoIdentity } from '../../src/sso/sso-identity.entity';
import { ExplainPermissionDocument as EXPLAIN, ExplainPermissionMembershipsDocument as MEMBERSHIPS } from '../generated/graphql';
import { makeGroup, makeRule, makeUser } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';
import { globalIdOf } from '../support/global-ids';

describe('Query.explainPermission', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    ({ token } = await server.signInWith(['auth.view_user']));
  });
  afterAll(() => server?.stop());
  function em() {
    return server.db.orm.em.fork();
  }

  const explain = async (user: User | string, permission: string) => {
    const result = await server.graphql(EXPLAIN, { userId: typeof user === 'string' ? user : String(user.id), permission }, token);
    return result;
  };
  const explained = async (user: User, permission: string) => {
    const result = await explain(user, permission);
    expect(result.errors).toBeUndefined();
    return result.data!.explainPermission;
  };

  it('says INACTIVE for an inactive user, even a superuser holding it directly and through a group', async () => {
    const group = await makeGroup(em(), ['core.view_tweet']);
    const user = await makeUser(em(), { isActive: false, isSuperuser: true, perms: ['core.view_tweet'], groups: [group] });
    expect(await explained(user, 'core.view_tweet')).toMatchObject({
      granted: false,
      reason: 'INACTIVE',
      directGrant: true,
      groups: [{ groupName: group.name }],
    });
  });

  it('says SUPERUSER for an active superuser without any grant', async () => {
    const user = await makeUser(em(), { isSuperuser: true });
    expect(await explained(user, 'auth.delete_user')).toEqual({
      user: { id: globalIdOf(user) },
      permission: 'auth.delete_user',
      granted: true,
      reason: 'SUPERUSER',
      directGrant: false,
      groups: [],
    });
  });

  it('says DIRECT_GRANT for a direct grant, and still lists the groups that carry it too', async () => {
    const group = await makeGroup(em(), ['core.change_tweet']);
    const user = await makeUser(em(), { perms: ['core.change_tweet'], groups: [group] });
    expect(await explained(user, 'core.change_tweet')).toMatchObject({
      granted: true,
      reason: 'DIRECT_GRANT',
      directGrant: true,
      groups: [{ groupName: group.name, memberships: [{ source: 'ADMIN', ruleId: null }] }],
    });
  });

  it('says GROUPS and names each group with why the user is in it: an admin, or which single sign-on rule', async () => {
    const viaAdmin = await makeGroup(em(), ['core.view_language'], 'a_by_admin');
    const viaSso = await makeGroup(em(), ['core.view_language', 'core.add_language'], 'b_by_sso');
    const unrelated = await makeGroup(em(), ['core.view_tweet'], 'c_unrelated');
    const user = await makeUser(em(), { groups: [viaAdmin, unrelated] });
    const rule = await makeRule(em(), viaSso);
    const fork = em();
    fork.create(UserGroup, { user: user.id, group: viaSso.id, source: MembershipSource.SSO_RULE, rule: rule.id });
    fork.create(UserGroup, { user: user.id, group: viaSso.id, source: MembershipSource.ADMIN });
    await fork.flush();
    expect(await explained(user, 'core.view_language')).toEqual({
      user: { id: globalIdOf(user) },
      permission: 'core.view_language',
      granted: true,
      reason: 'GROUPS',
      directGrant: false,
      groups: [
        { groupName: 'a_by_admin', memberships: [{ source: 'ADMIN', ruleId: null }] },
        {
          groupName: 'b_by_sso',
          memberships: [
            { source: 'SSO_RULE', ruleId: globalIdOf(rule) },
            { source: 'ADMIN', ruleId: null },
          ],
        },
      ],
    });
  });

  it('names the mapping rule and the claim value of the user’s last sign-in behind an SSO group', async () => {
    const group = await makeGroup(em(), ['core.view_tweet'], 'sso_viewers');
    const rule = await makeRule(em(), group, 'B2E_APP_MANAGEMENT_VIEWER');
    const user = await makeUser(em());
    const fork = em();
    fork.create(UserGroup, { user: user.id, group: group.id, source: MembershipSource.SSO_RULE, rule: rule.id });
    fork.create(SsoIdentity, {
      user: user.id,
      issuer: 'https://idp.example.com',
      subject: 'sub-1',
      lastClaims: { sub: 'sub-1', groups: ['ALL_STAFF', 'B2E_APP_MANAGEMENT_VIEWER'] },
    });
    await fork.flush();
    const variables = { userId: String(user.id), permission: 'core.view_tweet' };
    const admin = await server.signInWith(['auth.view_user', 'sso.view_groupmappingrule']);
    const result = await server.graphql(MEMBERSHIPS, variables, admin.token);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      explainPermission: {
        groups: [
          {
            groupName: 'sso_viewers',
            memberships: [
              {
                source: 'SSO_RULE',
                ruleId: globalIdOf(rule),
                claimValue: 'B2E_APP_MANAGEMENT_VIEWER',
                rule: {
                  id: globalIdOf(rule),
                  pattern: 'B2E_APP_MANAGEMENT_VIEWER',
                  matchType: 'EXACT',
                  claim: null,
                  group: { name: 'sso_viewers' },
                },
              },
            ],
          },
        ],
      },
    });
    // The rule itself needs sso.view_groupmappingrule; the rest of the explanation does not.
    const withoutRulePermission = await server.graphql(MEMBERSHIPS, variables, token);
    expect(withoutRulePermission.errors).toEqual([
      expect.objectContaining({ extensions: { code: 'FORBIDDEN', permission: 'sso.view_groupmappingrule' } }),
    ]);
    expect(withoutRulePermission.data).toMatchObject({
      explainPermission: { groups: [{ memberships: [{ claimValue: 'B2E_APP_MANAGEMENT_VIEWER', rule: null }] }] },
    });
  });

  it('says NONE when neither the user nor any of their groups holds it', async () => {
    const user = await makeUser(em(), { perms: ['core.view_tweet'], groups: [await makeGroup(em(), ['core.view_language'])] });
    expect(await explained(user, 'core.delete_tweet')).toMatchObject({ granted: false, reason: 'NONE', directGrant: false, groups: [] });
  });

  it('agrees with PermissionBackend for every permission of several users', async () => {
    const groupA = await makeGroup(em(), ['core.view_tweet', 'auth.view_user', 'sso.add_groupmappingrule']);
    const groupB = await makeGroup(em(), ['core.view_tweet', 'admin.view_logentry']);
    const users = [
      await makeUser(em()),
      await makeUser(em(), { groups: [groupA] }),
      await makeUser(em(), { groups: [groupA, groupB], perms: ['core.delete_language'] }),
      await makeUser(em(), { isSuperuser: true }),
      await makeUser(em(), { isActive: false, groups: [groupB], perms: ['auth.add_user'] }),
      await makeUser(em(), { isActive: false, isSuperuser: true }),
    ];
    const backend = new PermissionBackend(em());
    for (const user of users) {
      // Every permission as an alias, in requests that stay within the alias limit: documents built
      // at run time from the registry, hence strings rather than typed documents.
      const granted = new Map<string, boolean>();
      for (let start = 0; start < ALL_PERMISSIONS.length; start += QUERY_LIMITS.maxAliases) {
        const chunk = ALL_PERMISSIONS.slice(start, start + QUERY_LIMITS.maxAliases);
        const fields = chunk
          .map((p, i) => `p${i}: explainPermission(userId: "${user.id}", permission: "${p.fullName}") { granted }`)
          .join('\n');
        const result = await server.graphql<Record<string, { granted: boolean }>>(`{ ${fields} }`, {}, token);
        expect(result.errors).toBeUndefined();
        chunk.forEach((p, i) => granted.set(p.fullName, result.data![`p${i}`].granted));
      }
      const explainedGranted = ALL_PERMISSIONS.filter((p) => granted.get(p.fullName)).map((p) => p.fullName);
      const backendGranted = [...(await backend.getAllPermissions(user))].sort();
      expect({ user: user.username, granted: explainedGranted.sort() }).toEqual({ user: user.username, granted: backendGranted });
    }
  });

  it('refuses a permission the registry does not derive with BAD_USER_INPUT naming permission', async () => {
    const user = await makeUser(em());
    const result = await explain(user, 'core.fly_tweet');
    expect(result.errors).toEqual([
      expect.objectContaining({
        message: 'permission: "core.fly_tweet" is not a permission in the model registry',
        extensions: { code: 'BAD_USER_INPUT', field: 'permission' },
      }),
    ]);
  });

  it('is NOT_FOUND for an unknown user, BAD_USER_INPUT naming userId for an id that cannot name one', async () => {
    expect((await explain('99999999', 'core.view_tweet')).errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    expect((await explain('abc', 'core.view_tweet')).errors?.map((e) => e.extensions)).toEqual([
      { code: 'BAD_USER_INPUT', field: 'userId' },
    ]);
  });

  it('refuses a caller without auth.view_user with FORBIDDEN before looking the user up', async () => {
    const other = await server.signInWith(['auth.add_user', 'auth.change_user', 'auth.delete_user']);
    const existing = await makeUser(em());
    for (const userId of [String(existing.id), '99999999']) {
      const result = await server.graphql(EXPLAIN, { userId, permission: 'core.view_tweet' }, other.token);
      expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'FORBIDDEN', permission: 'auth.view_user' }]);
    }
  });
});
