import { Check, Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

/** `core.Tweet`, the original project's sample business model. */
@Entity({ tableName: 'core_tweet' })
@Check({ name: 'core_tweet_tweet_id_positive_check', expression: 'tweet_id > 0' })
export class Tweet {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Property({ type: 'string', length: 16 })
  screenName!: string;

  @Property({ type: 'datetime' })
  whenTweetWasCreated!: Date;

  /** A positive 64-bit integer: kept as a decimal string, since it exceeds 2^53. */
  @Property({ type: 'bigint' })
  tweetId!: string;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
