import { getNullableType, isListType, isObjectType, type GraphQLSchema } from 'graphql';
import { ActionFlag, LogEntry } from '../../src/audit/log-entry.entity';
import { Language } from '../../src/core/language.entity';
import { Tweet } from '../../src/core/tweet.entity';
import type { PermissionName } from '../../src/permissions/registry';
import { ProvisioningToken } from '../../src/scim/provisioning-token.entity';
import { Session } from '../../src/sessions/session.entity';
import { GroupMappingRule, MatchType } from '../../src/sso/group-mapping-rule.entity';
import { SsoIdentity } from '../../src/sso/sso-identity.entity';
import { MembershipSource, UserGroup } from '../../src/users/user-group.entity';
import { User } from '../../src/users/user.entity';
import { toGlobalId } from '../../src/db/ids';
import { makeGroup, makeUser } from '../support/factories';
import { globalIdOf, keyOf } from '../support/global-ids';
import { startTestServer, type TestServer } from '../support/server';
import { introspect } from '../support/graphql-client';

/*
 * Every list is in the order its description states, ties broken by id. The list fields are read
 * from the served schema (a list, or a connection); each needs a case below that makes rows whose
 * order matters — ties on the first key included where one can tie — and asserts the answer's
 * order, so a list added later fails here until its order is stated and tested.
 */

type Key = string | number;
type Direction = 'asc' | 'desc';

/** `items` sorted by `key` (compared part by part, each in its direction): what the answer must equal. */
function sortedBy<T>(items: readonly T[], key: (item: T) => Key[], directions: Direction[]): T[] {
  return [...items].sort((a, b) => {
    const [ka, kb] = [key(a), key(b)];
    for (let i = 0; i < ka.length; i++) {
      if (ka[i] === kb[i]) continue;
      const less = ka[i] < kb[i];
      return (less ? -1 : 1) * (directions[i] === 'desc' ? -1 : 1);
    }
    return 0;
  });
}

/** Asserts that `items` (at least `min` of them) are in the order `key` and `directions` give. */
function expectOrder<T>(items: readonly T[], key: (item: T) => Key[], directions: Direction[], min = 3): void {
  expect(items.length).toBeGreaterThanOrEqual(min);
  expect(items).toEqual(sortedBy(items, key, directions));
}

/** The database key a global id names, as a number: lists tie-break by it. */
const num = (id: string) => Number(keyOf(id));
let serial = 0;
/** Letters only, so that every collation sorts them alike. */
const word = () => {
  let n = ++serial + (process.pid % 1000) * 1000;
  let text = '';
  do {
    text = String.fromCharCode(97 + (n % 26)) + text;
    n = Math.floor(n / 26);
  } while (n > 0);
  return `ord${text}`;
};

describe('list orders', () => {
  let server: TestServer;
  let schema: GraphQLSchema;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    schema = await introspect(server.graphql);
    ({ token } = await server.signInAsSuperuser());
  });
  afterAll(() => server.stop());
  const em = () => server.db.orm.em.fork();

  async function query<T = Record<string, unknown>>(text: string, variables: Record<string, unknown> = {}, as = token): Promise<T> {
    const result = await server.graphql<T>(text, variables, as);
    expect(result.errors).toBeUndefined();
    return result.data!;
  }
  const nodes = <T>(connection: { edges: Array<{ node: T }> }) => connection.edges.map((edge) => edge.node);

  const sameInstant = new Date('2026-01-02T03:04:05.000Z');

  async function ssoUser(claims: Record<string, unknown>, issuer = 'https://idp.order.test/'): Promise<User> {
    const user = await makeUser(em());
    const fork = em();
    fork.create(SsoIdentity, { user: user.id, issuer, subject: `sub-${user.id}`, lastClaims: claims });
    await fork.flush();
    return user;
  }

  const CASES: Record<string, () => Promise<void>> = {
    'Query.groupMappingRules': async () => {
      const group = await makeGroup(em());
      const fork = em();
      for (let i = 0; i < 3; i++) fork.create(GroupMappingRule, { group, pattern: word(), matchType: MatchType.EXACT });
      await fork.flush();
      const data = await query<{ groupMappingRules: { edges: Array<{ node: { id: string } }> } }>(
        '{ groupMappingRules(first: 500) { edges { node { id } } } }',
      );
      expectOrder(nodes(data.groupMappingRules), (n) => [num(n.id)], ['asc']);
    },
    'Query.groups': async () => {
      const prefix = word();
      for (const suffix of ['c', 'a', 'b']) await makeGroup(em(), [], `${prefix}${suffix}`);
      const data = await query<{ groups: { edges: Array<{ node: { name: string } }> } }>(
        'query($search: String) { groups(first: 500, filter: { search: $search }) { edges { node { name } } } }',
        { search: prefix },
      );
      expectOrder(nodes(data.groups), (n) => [n.name], ['asc']);
    },
    'Query.languages': async () => {
      const fork = em();
      for (let i = 0; i < 3; i++) fork.create(Language, { languageTag: `x-${word()}`, createdAt: sameInstant });
      fork.create(Language, { languageTag: `x-${word()}`, createdAt: new Date(sameInstant.getTime() - 1000) });
      await fork.flush();
      const data = await query<{ languages: { edges: Array<{ node: { id: string; createdAt: string } }> } }>(
        '{ languages(first: 500) { edges { node { id createdAt } } } }',
      );
      expectOrder(nodes(data.languages), (n) => [n.createdAt, keyOf(n.id)], ['asc', 'asc'], 4);
    },
    'Query.tweets': async () => {
      const fork = em();
      for (let i = 0; i < 3; i++)
        fork.create(Tweet, { screenName: 'order', tweetId: '7', whenTweetWasCreated: sameInstant, createdAt: sameInstant });
      fork.create(Tweet, {
        screenName: 'order',
        tweetId: '7',
        whenTweetWasCreated: sameInstant,
        createdAt: new Date(sameInstant.getTime() + 1000),
      });
      await fork.flush();
      const data = await query<{ tweets: { edges: Array<{ node: { id: string; createdAt: string } }> } }>(
        '{ tweets(first: 500) { edges { node { id createdAt } } } }',
      );
      expectOrder(nodes(data.tweets), (n) => [n.createdAt, keyOf(n.id)], ['asc', 'asc'], 4);
    },
    'Query.logEntries': async () => {
      const fork = em();
      for (let i = 0; i < 3; i++)
        fork.create(LogEntry, {
          appLabel: 'core',
          model: 'tweet',
          objectRepr: word(),
          actionFlag: ActionFlag.CHANGE,
          actionTime: sameInstant,
        });
      await fork.flush();
      const data = await query<{ logEntries: { edges: Array<{ node: { id: string; actionTime: string } }> } }>(
        '{ logEntries(first: 500) { edges { node { id actionTime } } } }',
      );
      expectOrder(nodes(data.logEntries), (n) => [n.actionTime, num(n.id)], ['desc', 'desc']);
    },
    'Query.mySessions': async () => {
      const user = await makeUser(em());
      const tokens = [await server.signIn(user), await server.signIn(user), await server.signIn(user)];
      await em().nativeUpdate(Session, { user: user.id }, { createdAt: sameInstant });
      const data = await query<{ mySessions: Array<{ id: string; createdAt: string }> }>('{ mySessions { id createdAt } }', {}, tokens[0]);
      expect(new Set(data.mySessions.map((s) => s.createdAt)).size).toBe(1);
      expectOrder(data.mySessions, (s) => [s.createdAt, keyOf(s.id)], ['desc', 'desc']);
    },
    'Query.nodes': async () => {
      const groups = [];
      for (let i = 0; i < 3; i++) groups.push(await makeGroup(em()));
      const ids = [groups[1], groups[2], groups[0]].map((g) => globalIdOf(g));
      const data = await query<{ nodes: Array<{ id: string }> }>('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids });
      expect(data.nodes.map((n) => n.id)).toEqual(ids);
    },
    'Query.permissionCatalog': async () => {
      const data = await query<{ permissionCatalog: Array<{ coordinate: string }> }>('{ permissionCatalog { coordinate } }');
      expectOrder(data.permissionCatalog, (a) => [a.coordinate], ['asc']);
    },
    'Query.permissions': async () => {
      const data = await query<{ permissions: { edges: Array<{ node: { id: string } }> } }>(
        '{ permissions(first: 500) { edges { node { id } } } }',
      );
      expectOrder(nodes(data.permissions), (n) => [num(n.id)], ['asc']);
    },
    'Query.previewGroupMappingRule': async () => {
      const value = word().toUpperCase();
      for (let i = 0; i < 3; i++) await ssoUser({ groups: [value] });
      const group = await makeGroup(em());
      const data = await query<{ previewGroupMappingRule: Array<{ userId: string }> }>(
        'query($input: ProposedGroupMappingRuleInput!) { previewGroupMappingRule(input: $input) { userId } }',
        { input: { pattern: value, groupId: String(group.id) } },
      );
      expectOrder(data.previewGroupMappingRule, (i) => [num(i.userId)], ['asc']);
    },
    'Query.provisioningTokens': async () => {
      const fork = em();
      for (let i = 0; i < 3; i++)
        fork.create(ProvisioningToken, { description: word(), issuer: 'https://idp.order.test/', tokenHash: `${word()}`.padEnd(64, '0') });
      await fork.flush();
      const data = await query<{ provisioningTokens: { edges: Array<{ node: { id: string } }> } }>(
        '{ provisioningTokens(first: 500) { edges { node { id } } } }',
      );
      expectOrder(nodes(data.provisioningTokens), (n) => [num(n.id)], ['asc']);
    },
    'Query.ssoIdentities': async () => {
      const user = await makeUser(em());
      const fork = em();
      for (const [issuer, subject] of [
        ['https://b.order.test/', 'a'],
        ['https://a.order.test/', 'b'],
        ['https://a.order.test/', 'a'],
      ])
        fork.create(SsoIdentity, { user: user.id, issuer, subject });
      await fork.flush();
      const data = await query<{ ssoIdentities: Array<{ issuer: string; subject: string }> }>(
        'query($userId: ID!) { ssoIdentities(userId: $userId) { issuer subject } }',
        { userId: String(user.id) },
      );
      expectOrder(data.ssoIdentities, (i) => [i.issuer, i.subject], ['asc', 'asc']);
    },
    'Query.users': async () => {
      const prefix = word();
      const made: User[] = [];
      for (const suffix of ['c', 'a', 'd', 'b']) made.push(await makeUser(em(), { username: `${prefix}${suffix}` }));
      // Two pairs joined at the same instant: ties broken by id.
      await em().nativeUpdate(User, { id: { $in: made.map((u) => u.id) } }, { dateJoined: sameInstant });
      await em().nativeUpdate(User, { id: made[1].id }, { dateJoined: new Date(sameInstant.getTime() + 1000) });
      // dateJoined is read from the rows: selecting it through `users` is another change's fix.
      const joined = new Map(
        (await em().find(User, { id: { $in: made.map((u) => u.id) } })).map((u) => [globalIdOf(u), u.dateJoined.toISOString()]),
      );
      const list = async (orderBy: string) =>
        nodes(
          (
            await query<{ users: { edges: Array<{ node: { id: string; username: string } }> } }>(
              'query($search: String, $orderBy: UserOrder) { users(first: 500, filter: { search: $search }, orderBy: $orderBy) { edges { node { id username } } } }',
              { search: prefix, orderBy },
            )
          ).users,
        ).map((u) => ({ ...u, dateJoined: joined.get(u.id)! }));
      expectOrder(await list('USERNAME_ASC'), (u) => [u.username], ['asc'], 4);
      expectOrder(await list('USERNAME_DESC'), (u) => [u.username], ['desc'], 4);
      expectOrder(await list('DATE_JOINED_ASC'), (u) => [u.dateJoined, num(u.id)], ['asc', 'asc'], 4);
      expectOrder(await list('DATE_JOINED_DESC'), (u) => [u.dateJoined, num(u.id)], ['desc', 'desc'], 4);
    },
    'Group.permissions': async () => {
      const group = await makeGroup(em(), ['core.view_tweet', 'auth.add_user', 'admin.view_logentry', 'sso.view_identity']);
      const data = await query<{ group: { permissions: Array<{ id: string }> } }>(
        'query($id: ID!) { group(id: $id) { permissions { id } } }',
        {
          id: String(group.id),
        },
      );
      expectOrder(data.group.permissions, (p) => [num(p.id)], ['asc'], 4);
    },
    'Group.users': async () => {
      const group = await makeGroup(em());
      const prefix = word();
      for (const suffix of ['b', 'c', 'a']) await makeUser(em(), { username: `${prefix}${suffix}`, groups: [group] });
      const data = await query<{ group: { users: { edges: Array<{ node: { username: string } }> } } }>(
        'query($id: ID!) { group(id: $id) { users(first: 500) { edges { node { username } } } } }',
        { id: String(group.id) },
      );
      expectOrder(nodes(data.group.users), (u) => [u.username], ['asc']);
    },
    'User.groups': async () => {
      const prefix = word();
      const groups = [];
      for (const suffix of ['b', 'c', 'a']) groups.push(await makeGroup(em(), [], `${prefix}${suffix}`));
      const user = await makeUser(em(), { groups });
      const data = await query<{ user: { groups: Array<{ name: string }> } }>('query($id: ID!) { user(id: $id) { groups { name } } }', {
        id: String(user.id),
      });
      expectOrder(data.user.groups, (g) => [g.name], ['asc']);
    },
    'User.memberships': async () => {
      const prefix = word();
      const [b, a] = [await makeGroup(em(), [], `${prefix}b`), await makeGroup(em(), [], `${prefix}a`)];
      const user = await makeUser(em());
      const fork = em();
      const rules = [0, 1].map(() => fork.create(GroupMappingRule, { group: a, pattern: word(), matchType: MatchType.EXACT }));
      await fork.flush();
      // Rule memberships written before the admin's, and the later rule first.
      fork.create(UserGroup, { user: user.id, group: a.id, source: MembershipSource.SSO_RULE, rule: rules[1].id });
      fork.create(UserGroup, { user: user.id, group: a.id, source: MembershipSource.SSO_RULE, rule: rules[0].id });
      fork.create(UserGroup, { user: user.id, group: a.id, source: MembershipSource.ADMIN });
      fork.create(UserGroup, { user: user.id, group: b.id, source: MembershipSource.ADMIN });
      await fork.flush();
      const data = await query<{ user: { memberships: Array<{ group: { name: string }; source: string; ruleId: string | null }> } }>(
        'query($id: ID!) { user(id: $id) { memberships { group { name } source ruleId } } }',
        { id: String(user.id) },
      );
      expect(data.user.memberships).toEqual([
        { group: { name: a.name }, source: 'ADMIN', ruleId: null },
        { group: { name: a.name }, source: 'SSO_RULE', ruleId: globalIdOf(rules[0]) },
        { group: { name: a.name }, source: 'SSO_RULE', ruleId: globalIdOf(rules[1]) },
        { group: { name: b.name }, source: 'ADMIN', ruleId: null },
      ]);
    },
    'User.userPermissions': async () => {
      const perms: PermissionName[] = ['sso.view_identity', 'auth.add_user', 'core.view_tweet'];
      const user = await makeUser(em(), { perms });
      const data = await query<{ user: { userPermissions: Array<{ id: string }> } }>(
        'query($id: ID!) { user(id: $id) { userPermissions { id } } }',
        { id: String(user.id) },
      );
      expectOrder(data.user.userPermissions, (p) => [num(p.id)], ['asc']);
    },
    'Me.permissions': async () => {
      const data = await query<{ me: { permissions: string[] } }>('{ me { permissions } }');
      expect(data.me.permissions.length).toBeGreaterThan(10);
      expect(data.me.permissions).toEqual([...data.me.permissions].sort());
    },
    'GroupMappingPreview.groups': async () => {
      const { groups } = await previewOfThreeRules();
      expectOrder(groups, (g) => [num(g.id)], ['asc']);
    },
    'GroupMappingPreview.matches': async () => {
      const { matches } = await previewOfThreeRules();
      expectOrder(matches, (m) => [num(m.rule.id)], ['asc']);
    },
    'GroupMappingMatch.sources': async () => {
      const value = word().toUpperCase();
      const group = await makeGroup(em());
      const fork = em();
      fork.create(GroupMappingRule, { group, pattern: value, matchType: MatchType.EXACT });
      await fork.flush();
      const data = await query<{ previewGroupMapping: { matches: Array<{ sources: string[] }> } }>(
        'query($claims: JSON!, $scim: [String!]) { previewGroupMapping(claims: $claims, scimGroups: $scim) { matches { sources } } }',
        { claims: { groups: [value] }, scim: [value] },
      );
      expect(data.previewGroupMapping.matches).toEqual([{ sources: ['TOKEN', 'SCIM'] }]);
    },
    // A proposal is one rule, hence one group: these lists hold at most one group each.
    'GroupMappingImpact.gained': async () => {
      const value = word().toUpperCase();
      const user = await ssoUser({ groups: [value] });
      const group = await makeGroup(em());
      const data = await query<{ previewGroupMappingRule: Array<{ userId: string; gained: Array<{ id: string }> }> }>(
        'query($input: ProposedGroupMappingRuleInput!) { previewGroupMappingRule(input: $input) { userId gained { id } } }',
        { input: { pattern: value, groupId: String(group.id) } },
      );
      expect(data.previewGroupMappingRule).toEqual([{ userId: toGlobalId('User', user.id), gained: [{ id: globalIdOf(group) }] }]);
    },
    'GroupMappingImpact.lost': async () => {
      const value = word().toUpperCase();
      const group = await makeGroup(em());
      const fork = em();
      const rule = fork.create(GroupMappingRule, { group, pattern: value, matchType: MatchType.EXACT });
      await fork.flush();
      const user = await ssoUser({ groups: [value] });
      const data = await query<{ previewGroupMappingRule: Array<{ userId: string; lost: Array<{ id: string }> }> }>(
        'query($input: ProposedGroupMappingRuleInput!) { previewGroupMappingRule(input: $input) { userId lost { id } } }',
        { input: { id: String(rule.id), pattern: `${value}_NOT`, groupId: String(group.id) } },
      );
      expect(data.previewGroupMappingRule).toEqual([{ userId: toGlobalId('User', user.id), lost: [{ id: globalIdOf(group) }] }]);
    },
    'PermissionExplanation.groups': async () => {
      const { explanation } = await explanationThroughGroups();
      expectOrder(explanation.groups, (g) => [g.groupName], ['asc'], 2);
    },
    'GroupGrant.memberships': async () => {
      const { explanation, ruleIds } = await explanationThroughGroups();
      const first = explanation.groups[0];
      // The rule memberships were made before the admin's, the later rule's first: by membership id.
      expect(first.memberships.map((m) => [m.source, m.ruleId])).toEqual([
        ['SSO_RULE', ruleIds[1]],
        ['SSO_RULE', ruleIds[0]],
        ['ADMIN', null],
      ]);
    },
  };

  async function previewOfThreeRules() {
    const value = word().toUpperCase();
    const fork = em();
    const groups = [await makeGroup(em()), await makeGroup(em()), await makeGroup(em())];
    // Rules made in the reverse order of their groups.
    for (const group of [...groups].reverse()) fork.create(GroupMappingRule, { group, pattern: value, matchType: MatchType.EXACT });
    await fork.flush();
    const data = await query<{ previewGroupMapping: { groups: Array<{ id: string }>; matches: Array<{ rule: { id: string } }> } }>(
      'query($claims: JSON!) { previewGroupMapping(claims: $claims) { groups { id } matches { rule { id } } } }',
      { claims: { groups: [value] } },
    );
    return data.previewGroupMapping;
  }

  async function explanationThroughGroups() {
    const prefix = word();
    const [z, a] = [await makeGroup(em(), ['core.view_tweet'], `${prefix}z`), await makeGroup(em(), ['core.view_tweet'], `${prefix}a`)];
    const user = await makeUser(em());
    const fork = em();
    const rules = [0, 1].map(() => fork.create(GroupMappingRule, { group: a, pattern: word(), matchType: MatchType.EXACT }));
    await fork.flush();
    fork.create(UserGroup, { user: user.id, group: z.id, source: MembershipSource.ADMIN });
    fork.create(UserGroup, { user: user.id, group: a.id, source: MembershipSource.SSO_RULE, rule: rules[1].id });
    fork.create(UserGroup, { user: user.id, group: a.id, source: MembershipSource.SSO_RULE, rule: rules[0].id });
    fork.create(UserGroup, { user: user.id, group: a.id, source: MembershipSource.ADMIN });
    await fork.flush();
    const data = await query<{
      explainPermission: { groups: Array<{ groupName: string; memberships: Array<{ source: string; ruleId: string | null }> }> };
    }>(
      'query($userId: ID!) { explainPermission(userId: $userId, permission: "core.view_tweet") { groups { groupName memberships { source ruleId } } } }',
      { userId: String(user.id) },
    );
    expect(data.explainPermission.groups.map((g) => g.groupName)).toEqual([a.name, z.name]);
    return { explanation: data.explainPermission, ruleIds: rules.map((r) => globalIdOf(r)) };
  }

  /** Every field of an object type that answers a list or a connection (but the `edges` of a connection, its parent's case). */
  function listFields(): Array<{ coordinate: string; description: string }> {
    return Object.values(schema.getTypeMap()).flatMap((type) => {
      if (!isObjectType(type) || type.name.startsWith('__')) return [];
      return Object.values(type.getFields())
        .filter((field) => {
          const unwrapped = getNullableType(field.type);
          if (isListType(unwrapped)) return !(type.name.endsWith('Connection') && field.name === 'edges');
          return isObjectType(unwrapped) && unwrapped.name.endsWith('Connection');
        })
        .map((field) => ({ coordinate: `${type.name}.${field.name}`, description: field.description ?? '' }));
    });
  }

  it('has a case for every list and connection field of the schema, and each description states an order', () => {
    const fields = listFields();
    expect(fields.map((f) => f.coordinate).sort()).toEqual(Object.keys(CASES).sort());
    for (const { coordinate, description } of fields) {
      expect([coordinate, /\b(by|first|sorted|order)\b/.test(description)]).toEqual([coordinate, true]);
    }
  });

  it.each(Object.keys(CASES))('%s is in the order its description states', async (coordinate) => {
    await CASES[coordinate]();
  });
});
