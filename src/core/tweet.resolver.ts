import { Field, InputType, Resolver } from 'type-graphql';
import { CrudResolver } from '../graphql/crud-resolver';
import { Tweet } from './tweet.entity';
import { tweetAdmin, type TweetChanges, type TweetInput } from './tweets.service';

@InputType()
export class CreateTweetInput implements TweetInput {
  @Field(() => String, { description: 'At most 16 characters.' })
  screenName!: string;

  @Field(() => Date)
  whenTweetWasCreated!: Date;

  @Field(() => String, { description: 'A positive 64-bit integer as a decimal string, e.g. "1460323737035677698".' })
  tweetId!: string;
}

@InputType({ description: 'Omitted fields are kept.' })
export class UpdateTweetInput implements TweetChanges {
  @Field(() => String, { nullable: true })
  screenName?: string | null;

  @Field(() => Date, { nullable: true })
  whenTweetWasCreated?: Date | null;

  @Field(() => String, { nullable: true })
  tweetId?: string | null;
}

/** `tweets`, `tweet`, `createTweet`, `updateTweet`, `deleteTweet`, derived from `core.tweet`. */
@Resolver(() => Tweet)
export class TweetResolver extends CrudResolver(tweetAdmin, {
  objectType: Tweet,
  createInput: CreateTweetInput,
  updateInput: UpdateTweetInput,
}) {}
