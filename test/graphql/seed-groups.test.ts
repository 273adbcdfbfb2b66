import { toGlobalId } from '../../src/db/ids';
import { getOperationAST, validate } from 'graphql';
import { Group } from '../../src/groups/group.entity';
import { seedReferenceGroups } from '../../src/groups/seed';
import { buildGatehouseSchema } from '../../src/graphql/schema';
import { Tweet } from '../../src/core/tweet.entity';
import {
  CreateTweetDocument as CREATE_TWEET,
  DeleteTweetDocument as DELETE_TWEET,
  ExplainPermissionDocument as EXPLAIN,
  LogEntriesDocument as LOG_ENTRIES,
  TweetsDocument as TWEETS,
  UpdateTweetDocument as UPDATE_TWEET,
  UpdateUserDocument as UPDATE_USER,
  UsersPageDocument as USERS,
} from '../generated/graphql';
import { makeUser } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';

const NEW_TWEET = { input: { screenName: 'seed', whenTweetWasCreated: '2021-11-15T18:00:00Z', tweetId: '1' } };
const CHANGE_TWEET = { screenName: 'changed' };

describe('the reference seed groups behave as their permissions say', () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    server = await startTestServer();
    const em = server.db.orm.em.fork();
    await seedReferenceGroups(em);
    for (const group of await em.find(Group, {})) {
      tokens[group.name] = await server.signIn(await makeUser(em, { groups: [group] }));
    }
  });
  afterAll(() => server?.stop());

  const makeTweet = async () => {
    const em = server.db.orm.em.fork();
    const tweet = em.create(Tweet, { screenName: 'seeded', whenTweetWasCreated: new Date(), tweetId: '1' });
    await em.flush();
    return tweet.id;
  };
  // A missing resolver fails here, naming the field, rather than skipping what needs it.
  it('uses only operations the schema has', async () => {
    const schema = await buildGatehouseSchema();
    for (const document of [TWEETS, CREATE_TWEET, UPDATE_TWEET, DELETE_TWEET, USERS, UPDATE_USER, LOG_ENTRIES, EXPLAIN]) {
      const operation = getOperationAST(document)?.name?.value;
      expect({ operation, errors: validate(schema, document).map((e) => e.message) }).toEqual({ operation, errors: [] });
    }
  });

  const codes = (result: { errors?: Array<{ extensions?: Record<string, unknown> }> }) => (result.errors ?? []).map((e) => e.extensions);

  it('viewer lists tweets but cannot create one', async () => {
    expect(codes(await server.graphql(TWEETS, { first: 5 }, tokens.viewer))).toEqual([]);
    expect(codes(await server.graphql(CREATE_TWEET, NEW_TWEET, tokens.viewer))).toEqual([
      { code: 'FORBIDDEN', permission: 'core.add_tweet' },
    ]);
  });

  it('business changes a tweet but cannot delete it', async () => {
    const id = await makeTweet();
    const changed = await server.graphql(UPDATE_TWEET, { id, input: CHANGE_TWEET }, tokens.business);
    expect(changed).toMatchObject({ data: { updateTweet: { screenName: 'changed' } }, errors: undefined });
    expect(codes(await server.graphql(DELETE_TWEET, { id }, tokens.business))).toEqual([
      { code: 'FORBIDDEN', permission: 'core.delete_tweet' },
    ]);
  });

  it('support does everything on tweets', async () => {
    const id = await makeTweet();
    expect(codes(await server.graphql(CREATE_TWEET, NEW_TWEET, tokens.support))).toEqual([]);
    expect(codes(await server.graphql(UPDATE_TWEET, { id, input: CHANGE_TWEET }, tokens.support))).toEqual([]);
    expect(await server.graphql(DELETE_TWEET, { id }, tokens.support)).toMatchObject({
      data: { deleteTweet: { deletedId: toGlobalId('Tweet', id) } },
    });
  });

  it('developer reads the admin log; business cannot', async () => {
    expect(codes(await server.graphql(LOG_ENTRIES, { first: 1 }, tokens.developer))).toEqual([]);
    expect(codes(await server.graphql(LOG_ENTRIES, { first: 1 }, tokens.business))).toEqual([
      { code: 'FORBIDDEN', permission: 'admin.view_logentry' },
    ]);
  });

  it('developer views users', async () => {
    expect(codes(await server.graphql(USERS, { first: 5 }, tokens.developer))).toEqual([]);
  });

  it('developer cannot change users', async () => {
    const result = await server.graphql(UPDATE_USER, { id: '1', input: { firstName: 'x' } }, tokens.developer);
    expect(codes(result)).toEqual([{ code: 'FORBIDDEN', permission: 'auth.change_user' }]);
  });

  it('support cannot view users', async () => {
    expect(codes(await server.graphql(USERS, { first: 5 }, tokens.support))).toEqual([{ code: 'FORBIDDEN', permission: 'auth.view_user' }]);
  });

  it('developer explains permissions (auth.view_user) but support cannot', async () => {
    const variables = { userId: '1', permission: 'core.view_tweet' };
    expect(codes(await server.graphql(EXPLAIN, variables, tokens.developer)).map((e) => e?.code)).not.toContain('FORBIDDEN');
    expect(codes(await server.graphql(EXPLAIN, variables, tokens.support))).toEqual([{ code: 'FORBIDDEN', permission: 'auth.view_user' }]);
  });
});
