import { ActionFlag, LogEntry } from '../../src/audit/log-entry.entity';
import { Tweet } from '../../src/core/tweet.entity';
import {
  CreateTweetDocument as CREATE,
  DeleteTweetDocument as DELETE,
  TweetDocument as ONE,
  UpdateTweetDocument as UPDATE,
} from '../generated/graphql';
import { startTestServer, type TestServer } from '../support/server';
import { globalIdOf, keyOf } from '../support/global-ids';
import { onlyError } from '../support/graphql-client';
import { toGlobalId } from '../../src/db/ids';

// Beyond 2^53: a JavaScript number would round it to ...808.
const BIG_ID = '9223372036854775807';

describe('core.Tweet CRUD', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());
  const em = () => server.db.orm.em.fork();

  async function makeTweet(screenName = 'fixture') {
    const tweet = em().create(Tweet, { screenName, whenTweetWasCreated: new Date('2021-11-15T18:00:00Z'), tweetId: '1460323737035677698' });
    await em().persistAndFlush(tweet);
    return tweet;
  }
  const entriesFor = (objectId: string) => em().find(LogEntry, { appLabel: 'core', model: 'tweet', objectId }, { orderBy: { id: 'asc' } });

  describe('Mutation.createTweet', () => {
    it('creates the tweet, keeps a 64-bit tweetId exactly, and logs an ADDITION by the caller in the admin log', async () => {
      const { user, token } = await server.signInWith(['core.add_tweet']);
      const result = await server.graphql(
        CREATE,
        {
          input: { screenName: '  ada  ', whenTweetWasCreated: '2021-11-15T18:00:00.000Z', tweetId: BIG_ID },
        },
        token,
      );
      expect(result.errors).toBeUndefined();
      const created = result.data!.createTweet;
      expect(created).toMatchObject({ screenName: 'ada', tweetId: BIG_ID, whenTweetWasCreated: '2021-11-15T18:00:00.000Z' });
      const row = await em().findOneOrFail(Tweet, keyOf(created.id));
      expect(row.tweetId).toBe(BIG_ID);
      const [entry] = await entriesFor(keyOf(created.id));
      expect(entry).toMatchObject({ actionFlag: ActionFlag.ADDITION, objectRepr: `@ada ${BIG_ID}`, changeMessage: [{ added: {} }] });
      expect(entry.user?.id).toBe(user.id);
    });

    it.each([
      ['a screenName over 16 characters', { screenName: 'x'.repeat(17) }, 'input.screenName'],
      ['a blank screenName', { screenName: '   ' }, 'input.screenName'],
      ['a tweetId of 0', { tweetId: '0' }, 'input.tweetId'],
      ['a negative tweetId', { tweetId: '-5' }, 'input.tweetId'],
      ['a tweetId that is not an integer', { tweetId: '1.5' }, 'input.tweetId'],
      ['a tweetId that is not a number', { tweetId: 'abc' }, 'input.tweetId'],
      ['a tweetId above 2^63 - 1', { tweetId: '9223372036854775808' }, 'input.tweetId'],
    ])('refuses %s with BAD_USER_INPUT naming the field, and writes nothing', async (_what, change, field) => {
      const { token } = await server.signInWith(['core.add_tweet']);
      const before = await server.db.snapshot();
      const input = { screenName: 'ada', whenTweetWasCreated: '2021-11-15T18:00:00.000Z', tweetId: '1', ...change };
      const result = await server.graphql(CREATE, { input }, token);
      expect(result.errors).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(new RegExp(`^${field.replace('.', '\\.')}: `)),
          extensions: { code: 'BAD_USER_INPUT', field },
        }),
      ]);
      expect(await server.db.snapshot()).toEqual(before);
    });

    it('commits nothing when the admin log entry cannot be written (one transaction)', async () => {
      const { token } = await server.signInWith(['core.add_tweet']);
      await refuseLogEntriesNamed('refuse-log');
      const before = await server.db.snapshot();
      const result = await server.graphql(
        CREATE,
        { input: { screenName: 'refuse-log', whenTweetWasCreated: '2021-11-15T18:00:00.000Z', tweetId: '7' } },
        token,
      );
      expect(result.errors).toEqual([
        {
          message: 'internal server error',
          path: ['createTweet'],
          locations: expect.any(Array),
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        },
      ]);
      expect(await server.db.snapshot()).toEqual(before);
      expect(await em().count(Tweet, { screenName: 'refuse-log' })).toBe(0);
    });
  });

  describe('Query.tweet', () => {
    it('returns the tweet, and null for an id that does not exist or cannot exist', async () => {
      const { token } = await server.signInWith(['core.view_tweet']);
      const tweet = await makeTweet();
      expect((await server.graphql(ONE, { id: tweet.id }, token)).data).toEqual({
        tweet: expect.objectContaining({ id: globalIdOf(tweet), tweetId: '1460323737035677698' }),
      });
      expect(await server.graphql(ONE, { id: '00000000-0000-4000-8000-000000000000' }, token)).toMatchObject({
        data: { tweet: null },
        errors: undefined,
      });
      expect(onlyError(await server.graphql(ONE, { id: 'not-a-uuid' }, token)).extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'id' });
    });

    it('refuses a caller without core.view_tweet identically whether the tweet exists or not', async () => {
      const { token } = await server.signInWith(['core.add_tweet', 'core.change_tweet', 'core.delete_tweet']);
      const tweet = await makeTweet();
      const existing = await server.graphql(ONE, { id: tweet.id }, token);
      const absent = await server.graphql(ONE, { id: '00000000-0000-4000-8000-000000000000' }, token);
      expect(existing.errors).toEqual([expect.objectContaining({ extensions: { code: 'FORBIDDEN', permission: 'core.view_tweet' } })]);
      expect(absent.errors?.map(({ message, extensions }) => ({ message, extensions }))).toEqual(
        existing.errors?.map(({ message, extensions }) => ({ message, extensions })),
      );
    });
  });

  describe('Mutation.updateTweet', () => {
    it('changes the given fields only and logs a CHANGE naming exactly those fields', async () => {
      const { user, token } = await server.signInWith(['core.change_tweet']);
      const tweet = await makeTweet('before');
      const result = await server.graphql(UPDATE, { id: tweet.id, input: { screenName: 'after', tweetId: BIG_ID } }, token);
      expect(result.errors).toBeUndefined();
      expect(result.data!.updateTweet).toMatchObject({
        id: globalIdOf(tweet),
        screenName: 'after',
        tweetId: BIG_ID,
        whenTweetWasCreated: '2021-11-15T18:00:00.000Z',
      });
      expect(new Date(result.data!.updateTweet.updatedAt).getTime()).toBeGreaterThanOrEqual(tweet.updatedAt.getTime());
      const entries = await entriesFor(tweet.id);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        actionFlag: ActionFlag.CHANGE,
        objectRepr: `@after ${BIG_ID}`,
        changeMessage: [{ changed: { fields: ['screenName', 'tweetId'] } }],
      });
      expect(entries[0].user?.id).toBe(user.id);
    });

    it('writes nothing, not even a log entry, when nothing actually changes', async () => {
      const { token } = await server.signInWith(['core.change_tweet']);
      const tweet = await makeTweet('same');
      const result = await server.graphql(
        UPDATE,
        { id: tweet.id, input: { screenName: 'same', tweetId: '1460323737035677698', whenTweetWasCreated: '2021-11-15T18:00:00.000Z' } },
        token,
      );
      expect(result.errors).toBeUndefined();
      expect(await entriesFor(tweet.id)).toEqual([]);
      expect((await em().findOneOrFail(Tweet, tweet.id)).updatedAt).toEqual(tweet.updatedAt);
    });

    it('refuses null for a required field and an over-long value with BAD_USER_INPUT naming the field, changing nothing', async () => {
      const { token } = await server.signInWith(['core.change_tweet']);
      const tweet = await makeTweet('kept');
      for (const [input, field] of [
        [{ screenName: null }, 'input.screenName'],
        [{ screenName: 'y'.repeat(17) }, 'input.screenName'],
        [{ tweetId: '0' }, 'input.tweetId'],
        [{ whenTweetWasCreated: null }, 'input.whenTweetWasCreated'],
      ] as const) {
        const result = await server.graphql(UPDATE, { id: tweet.id, input }, token);
        expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'BAD_USER_INPUT', field }]);
      }
      expect((await em().findOneOrFail(Tweet, tweet.id)).screenName).toBe('kept');
      expect(await entriesFor(tweet.id)).toEqual([]);
    });

    it('is NOT_FOUND for an unknown id, BAD_USER_INPUT naming id for one that cannot name a tweet', async () => {
      const { token } = await server.signInWith(['core.change_tweet']);
      for (const [id, code] of [
        ['00000000-0000-4000-8000-000000000000', 'NOT_FOUND'],
        ['nonsense', 'BAD_USER_INPUT'],
        [toGlobalId('Language', '00000000-0000-4000-8000-000000000000'), 'BAD_USER_INPUT'],
      ]) {
        const result = await server.graphql(UPDATE, { id, input: { screenName: 'x' } }, token);
        expect(result.errors?.map((e) => e.extensions?.code)).toEqual([code]);
      }
    });

    it('changes nothing when the admin log entry cannot be written (one transaction)', async () => {
      const { token } = await server.signInWith(['core.change_tweet']);
      const tweet = await makeTweet('original');
      await refuseLogEntriesNamed('refuse-log');
      const result = await server.graphql(UPDATE, { id: tweet.id, input: { screenName: 'refuse-log' } }, token);
      expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'INTERNAL_SERVER_ERROR' }]);
      expect(JSON.stringify(result.errors)).not.toMatch(/admin_logentry|refused by|insert/i);
      expect((await em().findOneOrFail(Tweet, tweet.id)).screenName).toBe('original');
      expect(await entriesFor(tweet.id)).toEqual([]);
    });
  });

  describe('Mutation.deleteTweet', () => {
    it('deletes the tweet, returns its id and logs a DELETION naming it', async () => {
      const { user, token } = await server.signInWith(['core.delete_tweet']);
      const tweet = await makeTweet('gone');
      const result = await server.graphql(DELETE, { id: tweet.id }, token);
      expect(result).toMatchObject({ data: { deleteTweet: { deletedId: globalIdOf(tweet) } }, errors: undefined });
      expect(await em().count(Tweet, { id: tweet.id })).toBe(0);
      const [entry] = await entriesFor(tweet.id);
      expect(entry).toMatchObject({
        actionFlag: ActionFlag.DELETION,
        objectRepr: '@gone 1460323737035677698',
        changeMessage: [{ deleted: {} }],
      });
      expect(entry.user?.id).toBe(user.id);
    });

    it('is NOT_FOUND for an unknown id, and NOT_FOUND again for a tweet already deleted', async () => {
      const { token } = await server.signInWith(['core.delete_tweet']);
      const tweet = await makeTweet();
      await server.graphql(DELETE, { id: tweet.id }, token);
      const again = await server.graphql(DELETE, { id: tweet.id }, token);
      expect(again.errors?.map((e) => e.extensions)).toEqual([{ code: 'NOT_FOUND', id: tweet.id }]);
    });

    it('keeps the tweet when the admin log entry cannot be written (one transaction)', async () => {
      const { token } = await server.signInWith(['core.delete_tweet']);
      const tweet = await makeTweet('refuse-log');
      await refuseLogEntriesNamed('refuse-log');
      const result = await server.graphql(DELETE, { id: tweet.id }, token);
      expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'INTERNAL_SERVER_ERROR' }]);
      expect(await em().count(Tweet, { id: tweet.id })).toBe(1);
    });
  });

  /**
   * A real fault, not a mock: a trigger in this file's own database refuses admin-log rows
   * whose object_repr contains `marker`, so the write's second statement fails.
   */
  async function refuseLogEntriesNamed(marker: string) {
    await em().execute(`
      create or replace function gatehouse_test_refuse_log() returns trigger language plpgsql as $$
      begin
        if new.object_repr like '%${marker}%' then raise exception 'admin log refused by the test trigger'; end if;
        return new;
      end $$`);
    await em().execute('drop trigger if exists gatehouse_test_refuse_log on admin_logentry');
    await em().execute(
      'create trigger gatehouse_test_refuse_log before insert on admin_logentry for each row execute function gatehouse_test_refuse_log()',
    );
  }
});
