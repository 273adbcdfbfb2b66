import { Field, InputType, Resolver } from 'type-graphql';
import { updateInputDescription } from '../graphql/conventions';
import { CrudResolver } from '../graphql/crud-resolver';
import { Tweet } from './tweet.entity';
import { tweetAdmin, type TweetChanges, type TweetInput } from './tweets.service';

@InputType({ description: 'A new tweet.' })
export class CreateTweetInput implements TweetInput {
  @Field(() => String, { description: 'The author’s screen name, without the @; at most 16 characters.' })
  screenName!: string;

  @Field(() => Date, { description: 'When the tweet was posted.' })
  whenTweetWasCreated!: Date;

  @Field(() => String, { description: 'A positive 64-bit integer as a decimal string, e.g. "1460323737035677698".' })
  tweetId!: string;
}

@InputType({ description: updateInputDescription('The fields of a tweet to change.') })
export class UpdateTweetInput implements TweetChanges {
  @Field(() => String, { nullable: true, description: 'The author’s screen name, without the @; at most 16 characters.' })
  screenName?: string | null;

  @Field(() => Date, { nullable: true, description: 'When the tweet was posted.' })
  whenTweetWasCreated?: Date | null;

  @Field(() => String, { nullable: true, description: 'A positive 64-bit integer as a decimal string.' })
  tweetId?: string | null;
}

/** `tweets`, `tweet`, `createTweet`, `updateTweet`, `deleteTweet`, derived from `core.tweet`. */
@Resolver(() => Tweet)
export class TweetResolver extends CrudResolver(tweetAdmin, {
  objectType: Tweet,
  createInput: CreateTweetInput,
  updateInput: UpdateTweetInput,
}) {}
