import { BigIntType, Check, Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, ObjectType } from 'type-graphql';

/** `core.Tweet`, the original project's sample business model. */
@ObjectType('Tweet', { description: 'A tweet recorded by the business (core.Tweet).' })
@Entity({ tableName: 'core_tweet' })
@Check({ name: 'core_tweet_tweet_id_positive_check', expression: 'tweet_id > 0' })
export class Tweet {
  @Field(() => ID, { description: 'The tweet’s id in Gatehouse.' })
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Field(() => String, { description: 'The author’s screen name, without the @.' })
  @Property({ type: 'string', length: 16 })
  screenName!: string;

  @Field(() => Date, { description: 'When the tweet was posted.' })
  @Property({ type: 'datetime' })
  whenTweetWasCreated!: Date;

  /** A positive 64-bit integer: kept as a decimal string, since it exceeds 2^53. */
  @Field(() => String, { description: 'The tweet’s id at Twitter: a positive 64-bit integer, as a decimal string (it exceeds 2^53).' })
  @Property({ type: new BigIntType('string') })
  tweetId!: string;

  @Field(() => Date, { description: 'When it was recorded.' })
  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Field(() => Date, { description: 'When it was last changed.' })
  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
