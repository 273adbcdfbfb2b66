import type { EntityManager } from '@mikro-orm/postgresql';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  getNamedType,
  GraphQLID,
  isInterfaceType,
  isLeafType,
  isNonNullType,
  isObjectType,
  type GraphQLInterfaceType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { LogEntry } from '../../src/audit/log-entry.entity';
import { Language } from '../../src/core/language.entity';
import { Tweet } from '../../src/core/tweet.entity';
import { fromGlobalId, NODE_TYPES, toGlobalId, type NodeType } from '../../src/db/ids';
import { MAX_NODES, nodePermission } from '../../src/graphql/node';
import { buildDeclaredSchema } from '../../src/graphql/schema';
import { Permission } from '../../src/permissions/permission.entity';
import { ALL_PERMISSIONS, type PermissionName } from '../../src/permissions/registry';
import { ProvisioningToken } from '../../src/scim/provisioning-token.entity';
import { Session } from '../../src/sessions/session.entity';
import { hashToken } from '../../src/sessions/sessions.service';
import { SsoIdentity } from '../../src/sso/sso-identity.entity';
import { makeGroup, makeRule, makeUser } from '../support/factories';
import { globalIdOf } from '../support/global-ids';
import { onlyError } from '../support/graphql-client';
import { startTestServer, type SignedIn, type TestServer } from '../support/server';

/*
 * Relay's object identification (https://relay.dev/graphql/objectidentification.htm): every type
 * with a database identity implements Node with a global id, and node(id:) / nodes(ids:) refetch
 * any of them — each only for a caller holding its model's view permission.
 */

const VIEW_PERMISSIONS = ALL_PERMISSIONS.filter((p) => p.codename.startsWith('view_')).map((p) => p.fullName);

/** Types that have an `id` but are not objects of their own: MappedGroup is a view of a Group (its id is the Group's). */
const NOT_NODES = new Set(['MappedGroup']);

/** `node(id:)` selecting every leaf field without arguments of `type`. */
function refetchDocument(schema: GraphQLSchema, type: NodeType): string {
  const object = schema.getType(type) as GraphQLObjectType;
  const leaves = Object.values(object.getFields())
    .filter((field) => isLeafType(getNamedType(field.type)) && field.args.every((arg) => !isNonNullType(arg.type)))
    .map((field) => field.name);
  return `query Refetch($id: ID!) { node(id: $id) { __typename id ... on ${type} { ${leaves.join(' ')} } } }`;
}

const NODE = 'query Node($id: ID!) { node(id: $id) { __typename id } }';
const NODES = 'query Nodes($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }';

describe('Relay object identification', () => {
  let server: TestServer;
  let schema: GraphQLSchema;
  let root: SignedIn;
  /** One row of every Node type, by its global id. */
  const sample = {} as Record<NodeType, string>;
  /** The owner of the sample session, and their token. */
  let owner: SignedIn;
  const em = (): EntityManager => server.db.orm.em.fork();

  beforeAll(async () => {
    schema = await buildDeclaredSchema();
    server = await startTestServer();
    root = await server.signInAsSuperuser();
    owner = await server.signInWith([]);
    const e = em();
    const group = await makeGroup(e, ['core.view_tweet'], 'relay-group');
    const user = await makeUser(e, { username: 'relay-user', groups: [group] });
    const rule = await makeRule(e, group);
    const tweet = e.create(Tweet, { screenName: 'relay', whenTweetWasCreated: new Date('2021-11-15T18:00:00Z'), tweetId: '42' });
    const language = e.create(Language, { languageTag: 'rl-NODE' });
    const identity = e.create(SsoIdentity, { user, issuer: 'https://idp.example.com/', subject: 'relay-subject' });
    const token = e.create(ProvisioningToken, {
      description: 'relay',
      issuer: 'https://idp.example.com/',
      tokenHash: randomBytes(32).toString('hex'),
    });
    await e.flush();
    // An admin-log entry, written as any change writes one.
    const created = await server.graphql('mutation { createGroup(input: { name: "relay-logged" }) { id } }', {}, root.token);
    expect(created.errors).toBeUndefined();
    const entry = await e.findOneOrFail(LogEntry, { model: 'group' }, { orderBy: { id: 'desc' } });
    const permission = await e.findOneOrFail(Permission, { appLabel: 'core', codename: 'view_tweet' });
    const session = await e.findOneOrFail(Session, { tokenHash: hashToken(owner.token) });
    for (const row of [user, group, permission, rule, entry, tweet, language, identity, token, session]) {
      sample[row.constructor.name as NodeType] = globalIdOf(row);
    }
  });
  afterAll(() => server.stop());

  describe('the Node interface', () => {
    it('is implemented by exactly the types of NODE_TYPES, and every other object type with an id is a listed exception', () => {
      const node = schema.getType('Node') as GraphQLInterfaceType;
      expect(isInterfaceType(node)).toBe(true);
      expect(node.getFields().id.type.toString()).toBe('ID!');
      expect(
        schema
          .getPossibleTypes(node)
          .map((type) => type.name)
          .sort(),
      ).toEqual(Object.keys(NODE_TYPES).sort());
      const withId = Object.values(schema.getTypeMap()).filter(
        (type): type is GraphQLObjectType => isObjectType(type) && !type.name.startsWith('__') && 'id' in type.getFields(),
      );
      expect(withId.filter((type) => !(type.name in NODE_TYPES)).map((type) => type.name)).toEqual([...NOT_NODES]);
    });

    it('hands out every ID field as a global id: a Node’s id, or a field marked with the type whose key it holds', () => {
      const node = schema.getType('Node') as GraphQLInterfaceType;
      const plain: string[] = [];
      for (const type of Object.values(schema.getTypeMap())) {
        if (!isObjectType(type) || type.name.startsWith('__')) continue;
        for (const field of Object.values(type.getFields())) {
          if (getNamedType(field.type) !== GraphQLID) continue;
          if (field.name === 'id' && type.getInterfaces().includes(node)) continue;
          if (field.extensions.globalIdOf) continue;
          // One type for every removal: `deleted(type, key)` encodes it for the removed object's
          // type; each delete mutation's test asserts the global id it answers.
          if (type.name === 'DeletePayload' && field.name === 'deletedId') continue;
          plain.push(`${type.name}.${field.name}`);
        }
      }
      expect(plain).toEqual([]);
    });

    it('gives every row a global id unique across types, that decodes to its type and key only', async () => {
      const user = await makeUser(em());
      const ids = Object.values(sample);
      expect(new Set(ids).size).toBe(ids.length);
      expect(toGlobalId('User', 1)).not.toBe(toGlobalId('Group', 1));
      expect(Buffer.from(globalIdOf(user), 'base64url').toString()).toBe(`User:${user.id}`);
      expect(fromGlobalId(globalIdOf(user))).toEqual({ type: 'User', key: user.id });
      for (const bad of ['VXNlcjo0Mg==', 'VXNlcjowNDI', 'V2lkZ2V0OjE', 'VXNlcjo', 'VXNlcjphYmM', '42', ''])
        expect(fromGlobalId(bad)).toBeNull();
    });

    it('hands out one id for an object whichever path reaches it', async () => {
      const query = `query($id: ID!) {
        user(id: $id) { id groups { id } }
        users(filter: { search: "relay-user" }) { edges { node { id } } }
        node(id: $id) { id }
      }`;
      const result = await server.graphql(query, { id: sample.User }, root.token);
      expect(result.errors).toBeUndefined();
      const data = result.data as {
        user: { id: string; groups: Array<{ id: string }> };
        users: { edges: Array<{ node: { id: string } }> };
        node: { id: string };
      };
      expect(data.user.id).toBe(sample.User);
      expect(data.users.edges.map((edge) => edge.node.id)).toEqual([sample.User]);
      expect(data.node.id).toBe(sample.User);
      expect(data.user.groups.map((group) => group.id)).toEqual([sample.Group]);
    });
  });

  describe('Query.node', () => {
    it.each(Object.keys(NODE_TYPES) as NodeType[])(
      'refetches a %s, every field, for a caller holding only its view permission',
      async (type) => {
        const permission = nodePermission(type);
        // A session is seen by its owner only; every other type by a holder of its model's view permission.
        const caller = permission ? await server.signInWith([permission]) : owner;
        const result = await server.graphql(refetchDocument(schema, type), { id: sample[type] }, caller.token);
        expect(result.errors).toBeUndefined();
        const node = (result.data as { node: Record<string, unknown> }).node;
        expect(node).toMatchObject({ __typename: type, id: sample[type] });
        for (const value of Object.values(node)) expect(value).not.toBeUndefined();
      },
    );

    it.each((Object.keys(NODE_TYPES) as NodeType[]).filter((type) => nodePermission(type)))(
      'refuses a %s to a caller holding every other view permission with FORBIDDEN at its path, leaking nothing, looking nothing up',
      async (type) => {
        const permission = nodePermission(type)!;
        const caller = await server.signInWith(VIEW_PERMISSIONS.filter((p) => p !== permission) as PermissionName[]);
        const missing = toGlobalId(type, NODE_TYPES[type] === 'uuid' ? randomUUID() : 2_000_000_000);
        server.resetQueries();
        const existing = await server.graphql(NODE, { id: sample[type] }, caller.token);
        // The session lookup (with the caller's permissions) and nothing else: the row was never read.
        expect(server.queries).toHaveLength(1);
        expect(existing.body).toEqual({
          data: { node: null },
          errors: [expect.objectContaining({ path: ['node'], extensions: { code: 'FORBIDDEN', permission } })],
        });
        // The same answer whether the object exists or not.
        const absent = await server.graphql(NODE, { id: missing }, caller.token);
        expect(absent.body).toEqual(existing.body);
      },
    );

    it('shows a session to its owner only: anyone else gets null, as for a session that does not exist', async () => {
      const stranger = await server.signInWith(VIEW_PERMISSIONS as PermissionName[]);
      expect((await server.graphql(NODE, { id: sample.Session }, stranger.token)).body).toEqual({ data: { node: null } });
      expect((await server.graphql(NODE, { id: sample.Session }, root.token)).body).toEqual({ data: { node: null } });
      expect((await server.graphql(NODE, { id: toGlobalId('Session', randomUUID()) }, owner.token)).body).toEqual({ data: { node: null } });
      expect((await server.graphql(NODE, { id: sample.Session }, owner.token)).body).toEqual({
        data: { node: { __typename: 'Session', id: sample.Session } },
      });
    });

    it('answers null for an object that does not exist', async () => {
      expect((await server.graphql(NODE, { id: toGlobalId('User', 2_000_000_000) }, root.token)).body).toEqual({ data: { node: null } });
    });

    it.each([
      ['not base64url', 'not an id!'],
      ['a database key (node needs the type)', '42'],
      ['an unknown type', Buffer.from('Widget:1').toString('base64url')],
      ['a key that cannot exist', Buffer.from('User:99999999999').toString('base64url')],
      ['padded base64', `${toGlobalId('User', 1)}==`],
      ['a long string', 'A'.repeat(200)],
    ])('refuses %s with BAD_USER_INPUT naming id', async (_, id) => {
      const result = await server.graphql(NODE, { id }, root.token);
      expect(onlyError(result).extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'id' });
    });

    it('is refused to an anonymous caller with UNAUTHENTICATED', async () => {
      expect(onlyError(await server.graphql(NODE, { id: sample.User })).extensions).toEqual({ code: 'UNAUTHENTICATED' });
    });
  });

  describe('Query.nodes', () => {
    it('answers each id in order: the allowed, null with FORBIDDEN at its index for the refused, null for the absent', async () => {
      const caller = await server.signInWith(['auth.view_user', 'auth.view_group']);
      const ids = [sample.User, sample.Tweet, toGlobalId('User', 2_000_000_000), sample.Group];
      const result = await server.graphql(NODES, { ids }, caller.token);
      expect(result.body).toEqual({
        data: { nodes: [{ __typename: 'User', id: sample.User }, null, null, { __typename: 'Group', id: sample.Group }] },
        errors: [expect.objectContaining({ path: ['nodes', 1], extensions: { code: 'FORBIDDEN', permission: 'core.view_tweet' } })],
      });
    });

    it('loads them in one statement per type, whatever their number', async () => {
      const e = em();
      const users = await Promise.all(Array.from({ length: 12 }, () => makeUser(e)));
      const groups = await Promise.all(Array.from({ length: 6 }, () => makeGroup(e)));
      const ids = [...users, ...groups].map(globalIdOf).concat(sample.Tweet, sample.Language, sample.LogEntry);
      server.resetQueries();
      const result = await server.graphql(NODES, { ids }, root.token);
      expect(result.errors).toBeUndefined();
      expect((result.data as { nodes: Array<{ id: string }> }).nodes.map((node) => node.id)).toEqual(ids);
      // The session lookup, then users, groups, tweets, languages, log entries: one statement each.
      expect(server.queries).toHaveLength(6);
      expect(server.queries.filter((sql) => /from "auth_user"/.test(sql))).toHaveLength(1);
    });

    it(`refuses more than ${MAX_NODES} ids, or one that is not a global id, with BAD_USER_INPUT naming it`, async () => {
      const many = Array.from({ length: MAX_NODES + 1 }, () => sample.User);
      expect(onlyError(await server.graphql(NODES, { ids: many }, root.token)).extensions).toEqual({
        code: 'BAD_USER_INPUT',
        field: 'ids',
      });
      expect(onlyError(await server.graphql(NODES, { ids: [sample.User, 'nope'] }, root.token)).extensions).toEqual({
        code: 'BAD_USER_INPUT',
        field: 'ids[1]',
      });
    });

    it(`costs one item per id: ${MAX_NODES} ids fit the cost limit`, async () => {
      const ids = Array.from({ length: MAX_NODES }, () => sample.User);
      expect((await server.graphql(NODES, { ids }, root.token)).errors).toBeUndefined();
    });
  });

  describe('arguments that name an object', () => {
    it('take its global id, or (for now) its database key, for every kind of object', async () => {
      const e = em();
      const target = await makeUser(e);
      const group = await makeGroup(e);
      const rule = await makeRule(e, group);
      const [userKey, groupKey] = [String(target.id), String(group.id)];
      for (const [id, groupIds] of [
        [globalIdOf(target), [globalIdOf(group)]],
        [userKey, [groupKey]],
      ]) {
        const result = await server.graphql(
          'mutation($id: ID!, $groupIds: [ID!]!) { setUserGroups(id: $id, groupIds: $groupIds) { id groups { id } } }',
          { id, groupIds },
          root.token,
        );
        expect(result.body).toEqual({ data: { setUserGroups: { id: globalIdOf(target), groups: [{ id: globalIdOf(group) }] } } });
      }
      const updated = await server.graphql(
        'mutation($id: ID!, $group: ID!) { updateGroupMappingRule(id: $id, input: { groupId: $group }) { id group { id } } }',
        { id: globalIdOf(rule), group: globalIdOf(group) },
        root.token,
      );
      expect(updated.body).toEqual({ data: { updateGroupMappingRule: { id: globalIdOf(rule), group: { id: globalIdOf(group) } } } });
      const log = await server.graphql(
        'query($user: ID!, $object: String!) { logEntries(filter: { userId: $user, objectId: $object }) { edges { node { userId objectId } } } }',
        { user: globalIdOf(root.user), object: globalIdOf(target) },
        root.token,
      );
      expect(log.errors).toBeUndefined();
      expect((log.data as { logEntries: { edges: Array<{ node: unknown }> } }).logEntries.edges.map((edge) => edge.node)).toContainEqual({
        userId: globalIdOf(root.user),
        objectId: userKey,
      });
    });

    it.each([
      ['setUserGroups', 'id', 'mutation($a: ID!) { setUserGroups(id: $a, groupIds: []) { id } }'],
      ['setUserGroups', 'groupIds', 'mutation($a: ID!) { setUserGroups(id: "1", groupIds: [$a]) { id } }'],
      ['group', 'id', 'query($a: ID!) { group(id: $a) { id } }'],
      [
        'createGroupMappingRule',
        'input.groupId',
        'mutation($a: ID!) { createGroupMappingRule(input: { pattern: "X", groupId: $a }) { id } }',
      ],
      ['ssoIdentities', 'userId', 'query($a: ID!) { ssoIdentities(userId: $a) { id } }'],
      ['logEntries', 'filter.userId', 'query($a: ID!) { logEntries(filter: { userId: $a }) { totalCount } }'],
      ['revokeSession', 'id', 'mutation($a: ID!) { revokeSession(id: $a) { deletedId } }'],
      ['deleteTweet', 'id', 'mutation($a: ID!) { deleteTweet(id: $a) { deletedId } }'],
    ])('%s refuses the global id of another type with BAD_USER_INPUT naming %s, changing nothing', async (_, field, document) => {
      const before = await server.db.snapshot();
      const result = await server.graphql(document, { a: sample.Permission }, root.token);
      expect(onlyError(result).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(await server.db.snapshot()).toEqual(before);
    });
  });
});
