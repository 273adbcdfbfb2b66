import { Tweet } from '../../src/core/tweet.entity';
import { encodeCursor } from '../../src/db/keyset';
import {
  TweetsDocument as PAGE,
  TweetsWithoutCountDocument as PAGE_WITHOUT_COUNT,
  type TweetsQuery,
  type TweetsQueryVariables,
} from '../generated/graphql';
import { startTestServer, type TestServer } from '../support/server';

describe('Query.tweets (a Relay connection)', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    const em = server.db.orm.em.fork();
    ({ token } = await server.signInWith(['core.view_tweet']));
    // Five tweets, two of them created in the same millisecond: the id breaks the tie.
    const at = (ms: number) => new Date(Date.UTC(2024, 0, 1) + ms);
    for (const [name, ms] of [
      ['t1', 0],
      ['t2', 1],
      ['t3', 1],
      ['t4', 2],
      ['t5', 3],
    ] as const) {
      em.create(Tweet, { screenName: name, whenTweetWasCreated: at(0), tweetId: '1', createdAt: at(ms) });
    }
    await em.flush();
  });
  afterAll(() => server?.stop());

  const page = async (variables: TweetsQueryVariables) => {
    const result = await server.graphql(PAGE, variables, token);
    expect(result.errors).toBeUndefined();
    return result.data!.tweets;
  };

  it('walks every row exactly once in a stable order with first/after, hasNextPage and endCursor', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    const hasNext: boolean[] = [];
    do {
      const current: TweetsQuery['tweets'] = await page({ first: 2, after });
      seen.push(...current.edges.map((e) => e.node.screenName));
      hasNext.push(current.pageInfo.hasNextPage);
      expect(current.pageInfo.endCursor).toBe(current.edges.at(-1)!.cursor);
      expect(current.totalCount).toBe(5);
      after = current.pageInfo.hasNextPage ? current.pageInfo.endCursor : null;
    } while (after);
    expect(hasNext).toEqual([true, true, false]);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    expect(seen[0]).toBe('t1');
    expect(seen.slice(3)).toEqual(['t4', 't5']);
    // the same walk again gives the same order
    const again = await page({ first: 5 });
    expect(again.edges.map((e) => e.node.screenName)).toEqual(seen);
    expect(again.pageInfo).toEqual({ hasNextPage: false, endCursor: again.edges[4].cursor });
  });

  it('gives an empty last page after the last cursor', async () => {
    const all = await page({ first: 5 });
    const rest = await page({ first: 2, after: all.pageInfo.endCursor });
    expect(rest).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 5 });
  });

  it.each([0, -1, 501])('refuses first: %p with BAD_USER_INPUT naming first', async (first) => {
    const result = await server.graphql(PAGE, { first }, token);
    expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'BAD_USER_INPUT', field: 'first' }]);
  });

  it.each([
    ['garbage', 'not a cursor at all'],
    ['a cursor of the wrong shape', encodeCursor([1])],
    ['a cursor with a date that is not one', encodeCursor(['yesterday', '00000000-0000-4000-8000-000000000000'])],
    ['a cursor with an id that is not a uuid', encodeCursor(['2024-01-01T00:00:00.000Z', "x' or 1=1 --"])],
  ])('refuses %s as after with BAD_USER_INPUT naming after', async (_what, after) => {
    const result = await server.graphql(PAGE, { first: 2, after }, token);
    expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'BAD_USER_INPUT', field: 'after' }]);
  });

  it('counts the rows only when totalCount is asked for', async () => {
    server.resetQueries();
    await server.graphql(PAGE_WITHOUT_COUNT, { first: 2 }, token);
    expect(server.queries.filter((sql) => /count\(/i.test(sql) && /core_tweet/.test(sql))).toEqual([]);
    server.resetQueries();
    await server.graphql(PAGE, { first: 2 }, token);
    expect(server.queries.filter((sql) => /count\(/i.test(sql) && /core_tweet/.test(sql))).toHaveLength(1);
  });

  it('defaults to 50 rows when first is omitted', async () => {
    expect((await page({})).edges).toHaveLength(5);
  });
});
