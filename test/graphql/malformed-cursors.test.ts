import { makeGroup, makeUser } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';

/*
 * Regression: a cursor was decoded without checking what it held, so an `after:` that was
 * base64 JSON of the wrong shape reached SQL as garbage (`id > NaN`, an integer beyond int4, a
 * NUL character in a name, a date PostgreSQL cannot store) and came back INTERNAL_SERVER_ERROR.
 * On every paginated list a cursor the list did not hand out is BAD_USER_INPUT naming `after`,
 * and a real cursor still pages.
 */

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Every paginated list: how to ask for it with `$after`, and how many parts its cursors have. */
const LISTS: ReadonlyArray<{
  name: string;
  query: string;
  path: string[];
  arity: number;
  tag?: string;
  sample: unknown[];
  dated?: boolean;
}> = [
  {
    name: 'Query.users',
    query: 'query($after: String) { users(first: 1, after: $after) { edges { cursor } } }',
    path: ['users'],
    arity: 2,
    tag: 'USERNAME_ASC',
    sample: ['USERNAME_ASC', 'a'],
  },
  {
    name: 'Query.users(orderBy: DATE_JOINED_ASC)',
    query: 'query($after: String) { users(first: 1, after: $after, orderBy: DATE_JOINED_ASC) { edges { cursor } } }',
    path: ['users'],
    arity: 3,
    tag: 'DATE_JOINED_ASC',
    dated: true,
    sample: ['DATE_JOINED_ASC', '2024-01-01T00:00:00.000000Z', 1],
  },
  {
    name: 'Query.groups',
    query: 'query($after: String) { groups(first: 1, after: $after) { edges { cursor } } }',
    path: ['groups'],
    arity: 1,
    sample: ['a'],
  },
  {
    name: 'Group.users',
    query: 'query($id: ID!, $after: String) { group(id: $id) { users(first: 1, after: $after) { edges { cursor } } } }',
    path: ['group', 'users'],
    arity: 1,
    sample: ['a'],
  },
  {
    name: 'Query.permissions',
    query: 'query($after: String) { permissions(first: 1, after: $after) { edges { cursor } } }',
    path: ['permissions'],
    arity: 1,
    sample: [1],
  },
  {
    name: 'Query.groupMappingRules',
    query: 'query($after: String) { groupMappingRules(first: 1, after: $after) { edges { cursor } } }',
    path: ['groupMappingRules'],
    arity: 1,
    sample: [1],
  },
  {
    name: 'Query.logEntries',
    query: 'query($after: String) { logEntries(first: 1, after: $after) { edges { cursor } } }',
    path: ['logEntries'],
    arity: 2,
    dated: true,
    sample: ['2024-01-01T00:00:00.000Z', 1],
  },
  {
    name: 'Query.tweets',
    query: 'query($after: String) { tweets(first: 1, after: $after) { edges { cursor } } }',
    path: ['tweets'],
    arity: 2,
    dated: true,
    sample: ['2024-01-01T00:00:00.000Z', '00000000-0000-4000-8000-000000000000'],
  },
  {
    name: 'Query.languages',
    query: 'query($after: String) { languages(first: 1, after: $after) { edges { cursor } } }',
    path: ['languages'],
    arity: 2,
    dated: true,
    sample: ['2024-01-01T00:00:00.000Z', '00000000-0000-4000-8000-000000000000'],
  },
];

/** Cursors no list hands out, by what is wrong with them; `parts` fill a cursor of the list's own arity. */
function malformedCursors(list: (typeof LISTS)[number]): Array<[string, string]> {
  const ofArity = (part: unknown) => encode(list.tag ? [list.tag, ...Array(list.arity - 1).fill(part)] : Array(list.arity).fill(part));
  const withLast = (part: unknown) => encode([...list.sample.slice(0, -1), part]);
  const withFirstKey = (part: unknown) => encode(list.tag ? [list.tag, part, ...list.sample.slice(2)] : [part, ...list.sample.slice(1)]);
  return [
    ['not base64 JSON', '!!'],
    ['base64 of text that is not JSON', Buffer.from('not json').toString('base64url')],
    ['a JSON object', encode({ id: 1 })],
    ['a JSON string', encode('1')],
    ['an empty array', encode([])],
    ['one part too many', encode([...list.sample, 1])],
    ['objects for its parts', ofArity({})],
    ['nulls for its parts', ofArity(null)],
    ['booleans for its parts', ofArity(true)],
    ['fractions for its parts', ofArity(1.5)],
    ['numbers beyond any column', ofArity(1e300)],
    ['a NUL character for its parts', ofArity('\u0000')],
    ['an integer beyond int4 as its last part', withLast(2 ** 40)],
    ['a NUL character as its last part', withLast('a\u0000')],
    ...(list.dated
      ? [
          ['a date before any PostgreSQL can store as its first key', withFirstKey('-100000-01-01T00:00:00.000Z')] as [string, string],
          ['a date that is not one as its first key', withFirstKey('2024-13-45T99:99:99.000Z')] as [string, string],
        ]
      : []),
    ...(list.tag ? [['another ordering’s tag', encode(['NO_SUCH_ORDER', ...list.sample.slice(1)])] as [string, string]] : []),
  ];
}

describe('a malformed `after` cursor', () => {
  let server: TestServer;
  let token: string;
  let groupId: string;
  beforeAll(async () => {
    server = await startTestServer();
    const em = server.db.orm.em.fork();
    const group = await makeGroup(em);
    await makeGroup(em);
    await makeUser(em, { groups: [group] });
    await makeUser(em, { groups: [group] });
    groupId = String(group.id);
    token = await server.signIn(await makeUser(em, { isSuperuser: true, isStaff: true }));
    // Something in every list, so that a real cursor exists for each.
    const created = await server.graphql(
      `mutation {
         createTweet(input: { screenName: "a", whenTweetWasCreated: "2024-01-01T00:00:00Z", tweetId: "1" }) { id }
         t2: createTweet(input: { screenName: "b", whenTweetWasCreated: "2024-01-01T00:00:00Z", tweetId: "2" }) { id }
         createLanguage(input: { languageTag: "en" }) { id }
         l2: createLanguage(input: { languageTag: "fr" }) { id }
         createGroupMappingRule(input: { pattern: "A", groupId: "${groupId}" }) { id }
         r2: createGroupMappingRule(input: { pattern: "B", groupId: "${groupId}" }) { id }
       }`,
      {},
      token,
    );
    expect(created.errors).toBeUndefined();
  });
  afterAll(() => server?.stop());

  const run = (list: (typeof LISTS)[number], after: string | null) => server.graphql(list.query, { id: groupId, after }, token);
  const edgesOf = (list: (typeof LISTS)[number], data: unknown) =>
    (list.path.reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], data) as { edges: Array<{ cursor: string }> }).edges;

  describe.each(LISTS)('on $name', (list) => {
    it.each(malformedCursors(list))('(%s) is BAD_USER_INPUT naming `after`, not INTERNAL_SERVER_ERROR', async (_what, after) => {
      const result = await run(list, after);
      expect(result.status).toBe(200);
      expect(result.errors?.map((e) => ({ code: e.extensions?.code, field: e.extensions?.field }))).toEqual([
        { code: 'BAD_USER_INPUT', field: 'after' },
      ]);
    });

    it('still pages with the cursor it handed out', async () => {
      const first = await run(list, null);
      expect(first.errors).toBeUndefined();
      const edges = edgesOf(list, first.data);
      expect(edges).toHaveLength(1);
      const second = await run(list, edges[0].cursor);
      expect(second.errors).toBeUndefined();
      const next = edgesOf(list, second.data);
      expect(next).toHaveLength(1);
      expect(next[0].cursor).not.toBe(edges[0].cursor);
    });
  });
});
