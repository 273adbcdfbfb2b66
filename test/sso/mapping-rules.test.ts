import { LogEntry } from '../../src/audit/log-entry.entity';
import { toGlobalId } from '../../src/db/ids';
import type { Group } from '../../src/groups/group.entity';
import type { PermissionName } from '../../src/permissions/registry';
import { GroupMappingRule, MatchType } from '../../src/sso/group-mapping-rule.entity';
import { SsoIdentity } from '../../src/sso/sso-identity.entity';
import { MembershipSource, UserGroup } from '../../src/users/user-group.entity';
import type { User } from '../../src/users/user.entity';
import { makeGroup, makeGroup as makeGroupIn, makeRule, makeUser } from '../support/factories';
import {
  CreateGroupMappingRuleDocument as CREATE,
  DeleteGroupMappingRuleDocument as DELETE,
  GroupMappingRuleDocument as ONE,
  GroupMappingRulesDocument as LIST,
  PreviewGroupMappingDocument as PREVIEW,
  PreviewGroupMappingRuleDocument as PREVIEW_RULE,
  UpdateGroupMappingRuleDocument as UPDATE,
  type CreateGroupMappingRuleInput,
} from '../generated/graphql';
import { startTestServer, type TestServer } from '../support/server';
import { globalIdOf, keyOf } from '../support/global-ids';

const GROUPS = 'https://gatehouse.dev/ad/groups';

describe('group mapping rules over GraphQL', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { OIDC_GROUPS_CLAIM: GROUPS } });
  });
  afterAll(() => server.stop());
  const em = () => server.db.orm.em.fork();

  const caller = (perms: readonly PermissionName[]) => server.signInWith(perms);

  /** What a refused write must leave as it was: the whole database. */
  const snapshot = () => server.db.snapshot();

  async function ssoUser(claims: Record<string, unknown>, groups: Group[] = []): Promise<User> {
    const user = await makeUser(em(), { groups });
    const fork = em();
    fork.create(SsoIdentity, { user: user.id, issuer: 'https://idp.test/', subject: `sub-${user.id}`, lastClaims: claims });
    await fork.flush();
    return user;
  }

  describe('Query.groupMappingRules', () => {
    it('refuses an anonymous caller with UNAUTHENTICATED', async () => {
      const result = await server.graphql(LIST);
      expect(result.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('refuses a user without sso.view_groupmappingrule with FORBIDDEN naming it', async () => {
      const { token } = await caller(['sso.add_groupmappingrule', 'sso.change_groupmappingrule', 'sso.delete_groupmappingrule']);
      const result = await server.graphql(LIST, {}, token);
      expect(result.data).toBeNull();
      expect(result.errors?.[0].extensions).toEqual({ code: 'FORBIDDEN', permission: 'sso.view_groupmappingrule' });
    });

    it('lists the rules with their groups, as a Relay connection, to a holder of sso.view_groupmappingrule', async () => {
      const group = await makeGroup(em());
      const first = await makeRule(em(), group, 'LIST_A');
      const second = await makeRule(em(), group, 'LIST_B');
      const { token } = await caller(['sso.view_groupmappingrule']);
      const page1 = await server.graphql(LIST, {}, token);
      const all = page1.data!.groupMappingRules;
      expect(all.totalCount).toBe(all.edges.length);
      const mine = all.edges.map((e) => e.node).filter((n) => n.pattern.startsWith('LIST_'));
      expect(mine).toEqual([
        {
          id: globalIdOf(first),
          claim: null,
          matchType: 'EXACT',
          pattern: 'LIST_A',
          caseSensitive: true,
          enabled: true,
          description: '',
          group: { id: globalIdOf(group), name: group.name },
        },
        expect.objectContaining({ id: globalIdOf(second), pattern: 'LIST_B' }),
      ]);
      const one = await server.graphql(LIST, { first: 1 }, token);
      expect(one.data!.groupMappingRules.edges).toHaveLength(1);
      expect(one.data!.groupMappingRules.pageInfo.hasNextPage).toBe(true);
      const next = await server.graphql(LIST, { first: 1, after: one.data!.groupMappingRules.pageInfo.endCursor }, token);
      expect(next.data!.groupMappingRules.edges[0].node.id).toBe(all.edges[1].node.id);
    });
  });

  describe('Query.groupMappingRule', () => {
    it('refuses an anonymous caller with UNAUTHENTICATED', async () => {
      const rule = await makeRule(em(), await makeGroup(em()), 'ONE_ANON');
      const result = await server.graphql(ONE, { id: String(rule.id) });
      expect(result.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('refuses a user without sso.view_groupmappingrule with FORBIDDEN naming it, whether or not the rule exists', async () => {
      const rule = await makeRule(em(), await makeGroup(em()), 'ONE_FORBIDDEN');
      const { token } = await caller(['sso.add_groupmappingrule', 'sso.change_groupmappingrule', 'sso.delete_groupmappingrule']);
      for (const id of [String(rule.id), '999999', 'not-an-id']) {
        const result = await server.graphql(ONE, { id }, token);
        expect(result.data).toEqual({ groupMappingRule: null });
        expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'FORBIDDEN', permission: 'sso.view_groupmappingrule' }]);
      }
    });

    it('answers the rule with its group to a holder of sso.view_groupmappingrule', async () => {
      const group = await makeGroup(em());
      const rule = await makeRule(em(), group, 'ONE_ALLOWED');
      const { token } = await caller(['sso.view_groupmappingrule']);
      const result = await server.graphql(ONE, { id: globalIdOf(rule) }, token);
      expect(result.errors).toBeUndefined();
      expect(result.data).toEqual({
        groupMappingRule: {
          id: globalIdOf(rule),
          claim: null,
          matchType: 'EXACT',
          pattern: 'ONE_ALLOWED',
          caseSensitive: true,
          enabled: true,
          description: '',
          group: { id: globalIdOf(group), name: group.name },
        },
      });
      // The database key the API handed out before names it too (until Gatehouse 1.0).
      expect((await server.graphql(ONE, { id: String(rule.id) }, token)).data).toEqual(result.data);
    });

    it('answers null, without an error, for an id no rule has — as user(id:) and group(id:) do', async () => {
      const { token } = await caller(['sso.view_groupmappingrule', 'auth.view_user', 'auth.view_group']);
      for (const [id, userId, groupId] of [
        ['999999', '999999', '999999'],
        [toGlobalId('GroupMappingRule', 999999), toGlobalId('User', 999999), toGlobalId('Group', 999999)],
      ]) {
        const one = await server.graphql(ONE, { id }, token);
        expect([one.data, one.errors]).toEqual([{ groupMappingRule: null }, undefined]);
        const others = await server.graphql(
          `query($userId: ID!, $groupId: ID!) { user(id: $userId) { id } group(id: $groupId) { id } }`,
          { userId, groupId },
          token,
        );
        expect([others.data, others.errors]).toEqual([{ user: null, group: null }, undefined]);
      }
    });

    it('refuses an id that cannot name a rule (malformed, out of range, another type’s) with BAD_USER_INPUT naming id — as user(id:) and group(id:) do', async () => {
      const { token } = await caller(['sso.view_groupmappingrule', 'auth.view_user', 'auth.view_group']);
      for (const id of ['not-an-id', '0', '99999999999', toGlobalId('Tweet', '00000000-0000-4000-8000-000000000000')]) {
        for (const field of ['groupMappingRule', 'user', 'group']) {
          const result = await server.graphql(`query($id: ID!) { ${field}(id: $id) { id } }`, { id }, token);
          expect([field, result.data?.[field], result.errors?.map((e) => [e.extensions?.code, e.extensions?.field])]).toEqual([
            field,
            null,
            [['BAD_USER_INPUT', 'id']],
          ]);
        }
      }
    });
  });

  describe('duplicate rules', () => {
    const base = (groupId: number) => ({ pattern: 'DUP_TEAM', groupId: String(groupId) });
    // The rules written here would match the claims of the previews below: they go afterwards.
    const groups: number[] = [];
    const makeGroup = async (fork: ReturnType<typeof em>) => {
      const group = await makeGroupIn(fork);
      groups.push(group.id);
      return group;
    };
    afterEach(() => em().nativeDelete(GroupMappingRule, { group: { $in: groups.splice(0) } }));

    it.each<{ label: string; first: Partial<CreateGroupMappingRuleInput>; second: Partial<CreateGroupMappingRuleInput> }>([
      { label: 'the same EXACT rule', first: {}, second: {} },
      {
        label: 'a case-insensitive EXACT rule differing only in case',
        first: { caseSensitive: false },
        second: { caseSensitive: false, pattern: 'dup_team' },
      },
      {
        label: 'a case-insensitive GLOB rule differing only in case',
        first: { matchType: 'GLOB', caseSensitive: false, pattern: 'Dup_*' },
        second: { matchType: 'GLOB', caseSensitive: false, pattern: 'DUP_*' },
      },
      { label: 'the same rule on a named claim', first: { claim: 'roles' }, second: { claim: 'roles' } },
      { label: 'the same rule, disabled and described differently', first: {}, second: { enabled: false, description: 'again' } },
    ])('refuses $label with CONFLICT naming the existing rule, and writes nothing', async ({ first, second }) => {
      const group = await makeGroup(em());
      const { token } = await caller(['sso.add_groupmappingrule']);
      const made = await server.graphql(CREATE, { input: { ...base(group.id), ...first } }, token);
      expect(made.errors).toBeUndefined();
      const existing = made.data!.createGroupMappingRule;
      const before = await snapshot();
      const result = await server.graphql(CREATE, { input: { ...base(group.id), ...second } }, token);
      expect(result.data).toBeNull();
      expect(result.errors?.[0].extensions).toEqual({ code: 'CONFLICT', field: 'input', ruleId: existing.id });
      expect(result.errors?.[0].message).toBe(
        `rule ${existing.id} (${existing.claim ? `${existing.claim} ` : ''}${existing.matchType} ${existing.pattern} → ${group.name}) already maps this value to this group`,
      );
      expect(await snapshot()).toEqual(before);
    });

    it.each<{ label: string; first: Partial<CreateGroupMappingRuleInput>; second: Partial<CreateGroupMappingRuleInput> }>([
      { label: 'case-sensitive EXACT patterns differing in case', first: {}, second: { pattern: 'dup_team' } },
      { label: 'the same pattern, once case-sensitive and once not', first: {}, second: { caseSensitive: false } },
      {
        label: 'REGEX patterns differing in case, which carries meaning there',
        first: { matchType: 'REGEX', caseSensitive: false, pattern: '\\d+' },
        second: { matchType: 'REGEX', caseSensitive: false, pattern: '\\D+' },
      },
      { label: 'the same pattern as EXACT and as GLOB', first: {}, second: { matchType: 'GLOB' } },
      { label: 'the same pattern on the groups claim and on a named claim', first: {}, second: { claim: 'roles' } },
    ])('accepts $label: they are different rules', async ({ first, second }) => {
      const group = await makeGroup(em());
      const { token } = await caller(['sso.add_groupmappingrule']);
      expect((await server.graphql(CREATE, { input: { ...base(group.id), ...first } }, token)).errors).toBeUndefined();
      expect((await server.graphql(CREATE, { input: { ...base(group.id), ...second } }, token)).errors).toBeUndefined();
    });

    it('accepts the same pattern into another group', async () => {
      const { token } = await caller(['sso.add_groupmappingrule']);
      for (const group of [await makeGroup(em()), await makeGroup(em())]) {
        expect((await server.graphql(CREATE, { input: base(group.id) }, token)).errors).toBeUndefined();
      }
    });

    it('refuses an update that would make a rule repeat another with CONFLICT naming it, and changes nothing', async () => {
      const group = await makeGroup(em());
      const existing = await makeRule(em(), group, 'DUP_UPD_A');
      const other = await makeRule(em(), group, 'DUP_UPD_B');
      const { token } = await caller(['sso.change_groupmappingrule']);
      const before = await snapshot();
      const result = await server.graphql(UPDATE, { id: String(other.id), input: { pattern: 'DUP_UPD_A' } }, token);
      expect(result.errors?.[0].extensions).toEqual({ code: 'CONFLICT', field: 'input', ruleId: globalIdOf(existing) });
      expect(await snapshot()).toEqual(before);
      // Saving a rule unchanged, or changing it to what it already is, is no duplicate of itself.
      const same = await server.graphql(UPDATE, { id: String(existing.id), input: { pattern: 'DUP_UPD_A', description: 'kept' } }, token);
      expect(same.errors).toBeUndefined();
    });

    it('refuses concurrent identical creations but one, by the unique index: one rule, the others CONFLICT naming it', async () => {
      const group = await makeGroup(em());
      const { token } = await caller(['sso.add_groupmappingrule']);
      const results = await Promise.all(
        Array.from({ length: 6 }, () => server.graphql(CREATE, { input: { pattern: 'DUP_RACE', groupId: String(group.id) } }, token)),
      );
      const created = results.filter((r) => !r.errors);
      expect(created).toHaveLength(1);
      const id = created[0].data!.createGroupMappingRule.id;
      for (const refused of results.filter((r) => r.errors)) {
        expect(refused.errors?.[0].extensions).toEqual({ code: 'CONFLICT', field: 'input', ruleId: id });
      }
      expect(await em().count(GroupMappingRule, { pattern: 'DUP_RACE' })).toBe(1);
      expect(await em().count(LogEntry, { appLabel: 'sso', model: 'groupmappingrule', objectId: keyOf(id) })).toBe(1);
    });

    it('is enforced by the database itself: a second identical row is refused whoever writes it', async () => {
      const group = await makeGroup(em());
      await makeRule(em(), group, 'DUP_DB');
      await expect(makeRule(em(), group, 'DUP_DB')).rejects.toThrow(/sso_groupmappingrule_identity_unique/);
    });
  });

  describe('Mutation.createGroupMappingRule', () => {
    it('refuses a user without sso.add_groupmappingrule with FORBIDDEN and writes nothing', async () => {
      const group = await makeGroup(em());
      const { token } = await caller(['sso.view_groupmappingrule', 'sso.change_groupmappingrule', 'sso.delete_groupmappingrule']);
      const before = await snapshot();
      const result = await server.graphql(CREATE, { input: { pattern: 'NOPE', groupId: String(group.id) } }, token);
      expect(result.errors?.[0].extensions).toEqual({ code: 'FORBIDDEN', permission: 'sso.add_groupmappingrule' });
      expect(await snapshot()).toEqual(before);
    });

    it('creates a rule (defaults: EXACT, groups claim, case-sensitive, enabled) and logs it with the actor', async () => {
      const group = await makeGroup(em());
      const { user, token } = await caller(['sso.add_groupmappingrule']);
      const result = await server.graphql(
        CREATE,
        { input: { pattern: 'B2E_NEW', groupId: String(group.id), description: 'new team' } },
        token,
      );
      expect(result.errors).toBeUndefined();
      expect(result.data!.createGroupMappingRule).toEqual({
        id: expect.any(String),
        claim: null,
        matchType: 'EXACT',
        pattern: 'B2E_NEW',
        caseSensitive: true,
        enabled: true,
        description: 'new team',
        group: { id: globalIdOf(group), name: group.name },
      });
      const id = result.data!.createGroupMappingRule.id;
      const entries = await em().find(LogEntry, { appLabel: 'sso', model: 'groupmappingrule', objectId: keyOf(id) });
      expect(entries).toEqual([
        expect.objectContaining({
          user: expect.objectContaining({ id: user.id }),
          actionFlag: 1,
          changeMessage: [{ added: {} }],
          objectRepr: `EXACT B2E_NEW → ${group.name}`,
        }),
      ]);
    });

    it('creates a GLOB rule on another claim, e.g. e-mail', async () => {
      const group = await makeGroup(em());
      const { token } = await caller(['sso.add_groupmappingrule']);
      const result = await server.graphql(
        CREATE,
        { input: { claim: 'email', matchType: 'GLOB', pattern: '*@example.com', caseSensitive: false, groupId: String(group.id) } },
        token,
      );
      expect(result.data?.createGroupMappingRule).toMatchObject({
        claim: 'email',
        matchType: 'GLOB',
        pattern: '*@example.com',
        caseSensitive: false,
      });
    });

    it.each<{ label: string; fields: Omit<CreateGroupMappingRuleInput, 'groupId'>; field: string }>([
      { label: 'an invalid regular expression', fields: { matchType: 'REGEX', pattern: '(unclosed' }, field: 'input.pattern' },
      { label: 'a backreference', fields: { matchType: 'REGEX', pattern: '(a)\\1' }, field: 'input.pattern' },
      { label: 'an empty pattern', fields: { pattern: '' }, field: 'input.pattern' },
      { label: 'a blank claim', fields: { claim: '  ', pattern: 'X' }, field: 'input.claim' },
    ])('refuses $label with BAD_USER_INPUT naming $field and writes nothing', async ({ fields, field }) => {
      const group = await makeGroup(em());
      const { token } = await caller(['sso.add_groupmappingrule']);
      const before = await snapshot();
      const result = await server.graphql(CREATE, { input: { groupId: String(group.id), ...fields } }, token);
      expect(result.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field });
      expect(await snapshot()).toEqual(before);
    });

    it('refuses an unknown group with BAD_USER_INPUT naming input.groupId and writes nothing', async () => {
      const { token } = await caller(['sso.add_groupmappingrule']);
      const before = await snapshot();
      for (const groupId of ['999999', 'abc']) {
        const result = await server.graphql(CREATE, { input: { pattern: 'X', groupId } }, token);
        expect(result.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.groupId' });
      }
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('Mutation.updateGroupMappingRule', () => {
    it('refuses a user without sso.change_groupmappingrule with FORBIDDEN and changes nothing', async () => {
      const rule = await makeRule(em(), await makeGroup(em()), 'UPD_FORBIDDEN');
      const { token } = await caller(['sso.view_groupmappingrule', 'sso.add_groupmappingrule', 'sso.delete_groupmappingrule']);
      const before = await snapshot();
      const result = await server.graphql(UPDATE, { id: String(rule.id), input: { pattern: 'CHANGED' } }, token);
      expect(result.errors?.[0].extensions).toEqual({ code: 'FORBIDDEN', permission: 'sso.change_groupmappingrule' });
      expect(await snapshot()).toEqual(before);
    });

    it('changes only the fields given, logs which, and puts the claim back to the groups claim with null', async () => {
      const group = await makeGroup(em());
      const other = await makeGroup(em());
      const rule = await makeRule(em(), group, 'UPD_A');
      const { user, token } = await caller(['sso.change_groupmappingrule']);
      const changed = await server.graphql(
        UPDATE,
        {
          id: String(rule.id),
          input: { pattern: 'upd_*', matchType: 'GLOB', caseSensitive: false, groupId: String(other.id), claim: 'roles' },
        },
        token,
      );
      expect(changed.errors).toBeUndefined();
      expect(changed.data?.updateGroupMappingRule).toMatchObject({
        claim: 'roles',
        pattern: 'upd_*',
        matchType: 'GLOB',
        caseSensitive: false,
        enabled: true,
        group: { name: other.name },
      });
      const reset = await server.graphql(UPDATE, { id: String(rule.id), input: { claim: null } }, token);
      expect(reset.data?.updateGroupMappingRule).toMatchObject({ claim: null, pattern: 'upd_*' });
      const entries = await em().find(LogEntry, { appLabel: 'sso', objectId: String(rule.id) }, { orderBy: { id: 'asc' } });
      expect(entries.map((e) => [e.user?.id, e.actionFlag, e.changeMessage])).toEqual([
        [user.id, 2, [{ changed: { fields: ['claim', 'matchType', 'pattern', 'caseSensitive', 'group'] } }]],
        [user.id, 2, [{ changed: { fields: ['claim'] } }]],
      ]);
    });

    it('refuses a pattern that is invalid for the resulting match type, and an unknown rule', async () => {
      const rule = await makeRule(em(), await makeGroup(em()), 'UPD_(literal');
      const { token } = await caller(['sso.change_groupmappingrule']);
      const before = await snapshot();
      const bad = await server.graphql(UPDATE, { id: String(rule.id), input: { matchType: 'REGEX' } }, token);
      expect(bad.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.pattern' });
      const missing = await server.graphql(UPDATE, { id: '999999', input: { pattern: 'X' } }, token);
      expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('Mutation.deleteGroupMappingRule', () => {
    it('refuses a user without sso.delete_groupmappingrule with FORBIDDEN and deletes nothing', async () => {
      const rule = await makeRule(em(), await makeGroup(em()), 'DEL_FORBIDDEN');
      const { token } = await caller(['sso.view_groupmappingrule', 'sso.add_groupmappingrule', 'sso.change_groupmappingrule']);
      const before = await snapshot();
      const result = await server.graphql(DELETE, { id: String(rule.id) }, token);
      expect(result.errors?.[0].extensions).toEqual({ code: 'FORBIDDEN', permission: 'sso.delete_groupmappingrule' });
      expect(await snapshot()).toEqual(before);
    });

    it('deletes the rule and the memberships it granted, keeps a hand-assigned one, and logs it', async () => {
      const group = await makeGroup(em());
      const rule = await makeRule(em(), group, 'DEL_A');
      const granted = await makeUser(em());
      const handAssigned = await makeUser(em(), { groups: [group] });
      const fork = em();
      fork.create(UserGroup, { user: granted.id, group: group.id, source: MembershipSource.SSO_RULE, rule: rule.id });
      fork.create(UserGroup, { user: handAssigned.id, group: group.id, source: MembershipSource.SSO_RULE, rule: rule.id });
      await fork.flush();
      const { user, token } = await caller(['sso.delete_groupmappingrule']);
      const result = await server.graphql(DELETE, { id: String(rule.id) }, token);
      expect(result.data).toEqual({ deleteGroupMappingRule: { deletedId: globalIdOf(rule) } });
      expect(await em().count(GroupMappingRule, { id: rule.id })).toBe(0);
      const left = await em().find(UserGroup, { group: group.id });
      expect(left.map((m) => [m.user.id, m.source])).toEqual([[handAssigned.id, MembershipSource.ADMIN]]);
      const entries = await em().find(LogEntry, { appLabel: 'sso', objectId: String(rule.id) });
      expect(entries.map((e) => [e.user?.id, e.actionFlag])).toEqual([[user.id, 3]]);
      const again = await server.graphql(DELETE, { id: String(rule.id) }, token);
      expect(again.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    });
  });

  describe('Query.previewGroupMapping', () => {
    it('refuses a user without sso.view_groupmappingrule with FORBIDDEN', async () => {
      const { token } = await caller(['sso.change_groupmappingrule']);
      const result = await server.graphql(PREVIEW, { claims: {} }, token);
      expect(result.errors?.[0].extensions).toEqual({ code: 'FORBIDDEN', permission: 'sso.view_groupmappingrule' });
    });

    it('names the matching rules, claims and values, the groups, and lets the sign-in in', async () => {
      const support = await makeGroup(em());
      const staff = await makeGroup(em());
      const byGroup = await makeRule(em(), support, 'PREVIEW_SUPPORT');
      const fork = em();
      const byEmail = fork.create(GroupMappingRule, {
        claim: 'email',
        matchType: MatchType.GLOB,
        pattern: '*@preview.example',
        caseSensitive: false,
        group: staff.id,
      });
      fork.create(GroupMappingRule, { pattern: 'PREVIEW_SUPPORT', group: staff.id, enabled: false });
      await fork.flush();
      const { token } = await caller(['sso.view_groupmappingrule']);
      const result = await server.graphql(
        PREVIEW,
        { claims: { [GROUPS]: ['PREVIEW_SUPPORT', 'Other'], email: 'Carl@Preview.example' } },
        token,
      );
      expect(result.errors).toBeUndefined();
      expect(result.data?.previewGroupMapping).toEqual({
        matches: [
          { rule: { id: globalIdOf(byGroup) }, claim: GROUPS, value: 'PREVIEW_SUPPORT' },
          { rule: { id: globalIdOf(byEmail) }, claim: 'email', value: 'Carl@Preview.example' },
        ],
        groups: [
          { id: globalIdOf(support), name: support.name },
          { id: globalIdOf(staff), name: staff.name },
        ],
        loginAllowed: true,
        refusal: null,
        groupsClaim: GROUPS,
        groupsClaimProblem: null,
        requireMappedGroup: true,
      });
    });

    it('says a sign-in matching no rule, or with a missing, empty or malformed groups claim, would be refused', async () => {
      const { token } = await caller(['sso.view_groupmappingrule']);
      const cases: Array<[unknown, string, string | null]> = [
        [{ [GROUPS]: ['UNMAPPED_ANYWHERE'] }, 'no_matching_rule', null],
        [{ email: 'x@nowhere.test' }, 'groups_claim_missing', 'MISSING'],
        [{ [GROUPS]: [] }, 'groups_claim_empty', 'EMPTY'],
        [{ [GROUPS]: [1, 2] }, 'groups_claim_not_a_string_list', 'NOT_A_STRING_LIST'],
      ];
      for (const [claims, refusal, problem] of cases) {
        const result = await server.graphql(PREVIEW, { claims }, token);
        expect(result.data?.previewGroupMapping).toMatchObject({
          matches: [],
          groups: [],
          loginAllowed: false,
          refusal,
          groupsClaimProblem: problem,
        });
      }
      const notAnObject = await server.graphql(PREVIEW, { claims: ['a'] }, token);
      expect(notAnObject.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'claims' });
    });
  });

  describe('Query.previewGroupMappingRule', () => {
    it('refuses a user without sso.view_groupmappingrule with FORBIDDEN', async () => {
      const group = await makeGroup(em());
      const { token } = await caller(['sso.add_groupmappingrule']);
      const result = await server.graphql(PREVIEW_RULE, { input: { pattern: 'X', groupId: String(group.id) } }, token);
      expect(result.errors?.[0].extensions).toEqual({ code: 'FORBIDDEN', permission: 'sso.view_groupmappingrule' });
    });

    it('tells which SSO users would gain or lose which groups, from the claims of their last sign-in, and writes nothing', async () => {
      const alpha = await makeGroup(em());
      const beta = await makeGroup(em());
      const rule = await makeRule(em(), alpha, 'IMPACT_ALPHA');
      const onAlpha = await ssoUser({ [GROUPS]: ['IMPACT_ALPHA'] });
      const onBeta = await ssoUser({ [GROUPS]: ['IMPACT_BETA'], email: 'b@impact.example' });
      const betaByHand = await ssoUser({ [GROUPS]: ['IMPACT_ALPHA', 'IMPACT_BETA'] }, [beta]);
      await makeUser(em(), { groups: [] }); // a local user: never previewed
      const { token } = await caller(['sso.view_groupmappingrule']);
      const before = await snapshot();

      // A new rule: IMPACT_BETA → beta. betaByHand already holds beta (by hand): no change.
      const added = await server.graphql(PREVIEW_RULE, { input: { pattern: 'IMPACT_BETA', groupId: String(beta.id) } }, token);
      expect(added.errors).toBeUndefined();
      expect(added.data?.previewGroupMappingRule).toEqual([
        { userId: globalIdOf(onBeta), username: onBeta.username, gained: [{ name: beta.name }], lost: [] },
      ]);

      // Changing the existing rule to match IMPACT_BETA instead.
      const changed = await server.graphql(
        PREVIEW_RULE,
        { input: { id: String(rule.id), pattern: 'IMPACT_BETA', groupId: String(alpha.id) } },
        token,
      );
      expect(changed.data?.previewGroupMappingRule).toEqual([
        { userId: globalIdOf(onAlpha), username: onAlpha.username, gained: [], lost: [{ name: alpha.name }] },
        { userId: globalIdOf(onBeta), username: onBeta.username, gained: [{ name: alpha.name }], lost: [] },
      ]);

      // Disabling it.
      const disabled = await server.graphql(
        PREVIEW_RULE,
        { input: { id: String(rule.id), pattern: 'IMPACT_ALPHA', groupId: String(alpha.id), enabled: false } },
        token,
      );
      expect(disabled.data?.previewGroupMappingRule).toEqual([
        { userId: globalIdOf(onAlpha), username: onAlpha.username, gained: [], lost: [{ name: alpha.name }] },
        { userId: globalIdOf(betaByHand), username: betaByHand.username, gained: [], lost: [{ name: alpha.name }] },
      ]);

      // A rule on another claim.
      const byEmail = await server.graphql(
        PREVIEW_RULE,
        { input: { claim: 'email', matchType: 'GLOB', pattern: '*@IMPACT.example', caseSensitive: false, groupId: String(alpha.id) } },
        token,
      );
      expect(byEmail.data?.previewGroupMappingRule).toEqual([
        { userId: globalIdOf(onBeta), username: onBeta.username, gained: [{ name: alpha.name }], lost: [] },
      ]);

      const invalid = await server.graphql(PREVIEW_RULE, { input: { matchType: 'REGEX', pattern: '(', groupId: String(alpha.id) } }, token);
      expect(invalid.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.pattern' });
      expect(await snapshot()).toEqual(before);
    });
  });
});
