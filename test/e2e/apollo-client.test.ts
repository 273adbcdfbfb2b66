import {
  ApolloClient,
  CombinedGraphQLErrors,
  HttpLink,
  InMemoryCache,
  type ObservableQuery,
  type OperationVariables,
} from '@apollo/client';
import { relayStylePagination } from '@apollo/client/utilities';
import {
  ApolloRenameTweetDocument,
  ApolloTweetFieldsFragmentDoc,
  ApolloTweetsDocument,
  ApolloUserCountDocument,
  CreateTweetDocument,
  type ApolloTweetsQuery,
} from '../generated/graphql';
import { startTestServer, type TestServer } from '../support/server';
import { waitFor } from '../support/wait';

/*
 * Gatehouse driven by a published client, as a frontend drives it: Apollo Client 4 with its
 * normalized InMemoryCache, over real HTTP (its HttpLink and Node's fetch), with the typed
 * documents of test/operations/apollo-client.graphql — a fragment, variables, @include/@skip,
 * Relay pagination merged by a type policy, a mutation that updates the cache, and a denial read
 * from the CombinedGraphQLErrors Apollo Client 4 hands back.
 */

const TWEETS = 7;
const PAGE = 3;

describe('Apollo Client against Gatehouse', () => {
  let server: TestServer;
  let superuser: string;
  /** The operation names each client sent, in order: what reached the network rather than the cache. */
  let sent: string[];

  /** A client with its own normalized cache, sending `token` as a bearer token. */
  function apolloClient(token: string) {
    const link = new HttpLink({
      uri: `${server.url}/graphql`,
      headers: { authorization: `Bearer ${token}` },
      fetch: async (input, init) => {
        sent.push((JSON.parse(String(init?.body)) as { operationName: string }).operationName);
        return fetch(input, init);
      },
    });
    const cache = new InMemoryCache({
      // One list of tweets however many pages were fetched: the pages are merged by cursor.
      typePolicies: { Query: { fields: { tweets: relayStylePagination() } } },
    });
    return new ApolloClient({ link, cache });
  }

  beforeAll(async () => {
    server = await startTestServer();
    ({ token: superuser } = await server.signInAsSuperuser());
    for (let i = 0; i < TWEETS; i++) {
      const created = await server.graphql(
        CreateTweetDocument,
        {
          input: {
            screenName: `apollo_${i}`,
            tweetId: String(1460323737035677698n + BigInt(i)),
            whenTweetWasCreated: '2021-11-15T18:00:00.000Z',
          },
        },
        superuser,
      );
      expect(created.errors).toBeUndefined();
    }
  });
  beforeEach(() => {
    sent = [];
  });
  afterAll(() => server?.stop());

  /** The first complete result of a watched query (subscribing starts it). */
  function loaded<T, V extends OperationVariables>(query: ObservableQuery<T, V>): Promise<T> {
    return new Promise((resolve, reject) => {
      const subscription = query.subscribe({
        next: ({ data, dataState }) => {
          if (dataState !== 'complete') return;
          resolve(data as T);
          queueMicrotask(() => subscription.unsubscribe());
        },
        error: reject,
      });
    });
  }

  /** Every tweet as one plain request lists them, to compare the client's pages with. */
  async function allTweets() {
    const result = await server.graphql(
      ApolloTweetsDocument,
      { first: 50, withDates: false, withoutUpdate: true, withCount: true },
      superuser,
    );
    expect(result.errors).toBeUndefined();
    return result.data!.tweets;
  }

  it('pages through tweets with fetchMore over pageInfo.endCursor, the type policy merging the pages into one list', async () => {
    const expected = await allTweets();
    expect(expected.totalCount).toBe(TWEETS);
    const client = apolloClient(superuser);
    const query = client.watchQuery({
      query: ApolloTweetsDocument,
      variables: { first: PAGE, withDates: false, withoutUpdate: true, withCount: true },
    });
    const results: ApolloTweetsQuery[] = [];
    const subscription = query.subscribe(({ data }) => {
      if (data) results.push(data as ApolloTweetsQuery);
    });
    try {
      let data = await loaded(query);
      expect(data.tweets.edges).toHaveLength(PAGE);
      let pages = 1;
      while (data.tweets.pageInfo.hasNextPage) {
        await query.fetchMore({ variables: { after: data.tweets.pageInfo.endCursor } });
        // The cache now holds the pages merged under the query's own variables.
        data = client.readQuery({ query: ApolloTweetsDocument, variables: query.variables })!;
        pages++;
      }
      expect(pages).toBe(Math.ceil(TWEETS / PAGE));
      // The same tweets in the same order as one request for all of them (Apollo adds __typename).
      expect(data.tweets.edges.map((edge) => edge.node)).toEqual(expected.edges.map((edge) => ({ __typename: 'Tweet', ...edge.node })));
      expect(data.tweets.pageInfo).toEqual({ __typename: 'PageInfo', hasNextPage: false, endCursor: expected.pageInfo.endCursor });
      // The subscriber, first shown one page, is shown the merged list.
      expect(results[0].tweets.edges).toHaveLength(PAGE);
      await waitFor(() => results.at(-1)?.tweets.edges.length === TWEETS);
      // Each page was one request, and nothing else went out.
      expect(sent).toEqual(Array(pages).fill('ApolloTweets'));
    } finally {
      subscription.unsubscribe();
    }
  });

  it('sends the fragment and the variables of @include/@skip, and gets exactly the fields they select', async () => {
    const client = apolloClient(superuser);
    const lean = await client.query({
      query: ApolloTweetsDocument,
      variables: { first: 1, withDates: false, withoutUpdate: true, withCount: false },
    });
    const leanTweets = lean.data!.tweets;
    expect(Object.keys(leanTweets).sort()).toEqual(['__typename', 'edges', 'pageInfo']);
    expect(Object.keys(leanTweets.edges[0].node).sort()).toEqual(['__typename', 'id', 'screenName', 'tweetId']);

    const full = await client.query({
      query: ApolloTweetsDocument,
      variables: { first: 1, withDates: true, withoutUpdate: false, withCount: true },
      fetchPolicy: 'network-only',
    });
    const node = full.data!.tweets.edges[0].node;
    expect(Object.keys(node).sort()).toEqual(['__typename', 'createdAt', 'id', 'screenName', 'tweetId', 'updatedAt']);
    expect(new Date(node.createdAt!).toISOString()).toBe(node.createdAt);
    expect(full.data!.tweets.totalCount).toBe(TWEETS);
  });

  it('updates the cached tweet from the mutation’s result, without fetching the list again', async () => {
    const client = apolloClient(superuser);
    const variables = { first: PAGE, withDates: false, withoutUpdate: false, withCount: false };
    const list = client.watchQuery({ query: ApolloTweetsDocument, variables });
    const seen: string[][] = [];
    const subscription = list.subscribe(({ data }) => {
      if (data) seen.push((data as ApolloTweetsQuery).tweets.edges.map((edge) => edge.node.screenName));
    });
    try {
      const data = await loaded(list);
      const target = data.tweets.edges[1].node;
      const cacheId = client.cache.identify(target);
      expect(cacheId).toBeDefined();
      sent = [];

      const renamed = await client.mutate({
        mutation: ApolloRenameTweetDocument,
        variables: { id: target.id, screenName: 'renamed_apollo' },
      });
      expect(renamed.data!.updateTweet.screenName).toBe('renamed_apollo');

      // The normalized entry changed, so every query holding that tweet shows the new name.
      const cached = client.readFragment({
        id: cacheId,
        fragment: ApolloTweetFieldsFragmentDoc,
        variables: { withDates: false, withoutUpdate: false },
      });
      expect(cached).toMatchObject({ id: target.id, screenName: 'renamed_apollo', updatedAt: renamed.data!.updateTweet.updatedAt });
      const current = list.getCurrentResult().data as ApolloTweetsQuery;
      expect(current.tweets.edges[1].node).toMatchObject({ id: target.id, screenName: 'renamed_apollo' });
      expect(seen.at(-1)![1]).toBe('renamed_apollo');
      // Only the mutation went out: the list was not fetched again.
      expect(sent).toEqual(['ApolloRenameTweet']);
      // And the server agrees.
      expect((await allTweets()).edges.find((edge) => edge.node.id === target.id)!.node.screenName).toBe('renamed_apollo');
    } finally {
      subscription.unsubscribe();
    }
  });

  it('reads a FORBIDDEN denial and the permission it names from CombinedGraphQLErrors', async () => {
    const { token } = await server.signInWith(['core.view_tweet']);
    const client = apolloClient(token);

    // errorPolicy "none" (the default): the query rejects with the server's errors.
    const error = await client.query({ query: ApolloUserCountDocument }).then(
      () => null,
      (rejection: unknown) => rejection,
    );
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    const denial = (error as CombinedGraphQLErrors).errors[0];
    expect(denial.extensions).toEqual({ code: 'FORBIDDEN', permission: 'auth.view_user' });
    expect(denial.path).toEqual(['users']);

    // errorPolicy "all": the same errors on the result's `error`, and no data for the denied field.
    const result = await client.query({ query: ApolloUserCountDocument, errorPolicy: 'all', fetchPolicy: 'network-only' });
    expect(CombinedGraphQLErrors.is(result.error)).toBe(true);
    expect((result.error as CombinedGraphQLErrors).errors[0].extensions?.permission).toBe('auth.view_user');
    expect(result.data?.users ?? null).toBeNull();

    // What the caller holds still works through the same client.
    const tweets = await client.query({
      query: ApolloTweetsDocument,
      variables: { first: 1, withDates: false, withoutUpdate: true, withCount: true },
    });
    expect(tweets.data!.tweets.totalCount).toBe(TWEETS);
  });
});
