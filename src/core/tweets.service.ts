import { badInput, refuseNulls } from '../errors';
import type { ModelAdmin } from '../admin/model-admin';
import { modelRef } from '../permissions/registry';
import { changesOf, positiveInt64, requiredDate, requiredText } from './fields';
import { Tweet } from './tweet.entity';

export interface TweetInput {
  screenName: string;
  whenTweetWasCreated: Date;
  tweetId: string;
}

export type TweetChanges = { [K in keyof TweetInput]?: TweetInput[K] | null };

/** How `core.Tweet` is validated, named in the admin log, ordered and protected. */
export const tweetAdmin: ModelAdmin<Tweet, TweetInput, TweetChanges> = {
  ref: modelRef('core', 'tweet'),
  entity: Tweet,
  ordering: [
    ['createdAt', 'asc'],
    ['id', 'asc'],
  ],
  toCreate: (input) => ({
    screenName: requiredText(input.screenName, 'input.screenName', 16),
    whenTweetWasCreated: requiredDate(input.whenTweetWasCreated, 'input.whenTweetWasCreated'),
    tweetId: positiveInt64(input.tweetId, 'input.tweetId'),
  }),
  toChanges: (input) => {
    refuseNulls(input, ['screenName', 'whenTweetWasCreated', 'tweetId']);
    return changesOf<TweetChanges, Tweet>(input, {
      screenName: (v) => requiredText(v, 'input.screenName', 16),
      whenTweetWasCreated: (v) => requiredDate(v, 'input.whenTweetWasCreated'),
      tweetId: (v) => positiveInt64(v, 'input.tweetId'),
    });
  },
  repr: (tweet) => `@${tweet.screenName} ${tweet.tweetId}`,
  constraints: {
    core_tweet_tweet_id_positive_check: () => badInput('input.tweetId', 'must be a positive 64-bit integer'),
  },
};
