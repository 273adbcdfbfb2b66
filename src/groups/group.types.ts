import { Field, InputType } from 'type-graphql';
import { Connection } from '../graphql/connection';
import { Group } from './group.entity';

/* The GraphQL types of groups: inputs and the connection. The `Group` object type is the entity itself. */

export const GroupConnection = Connection(Group);

@InputType()
export class GroupFilter {
  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the name.' })
  search?: string | null;
}

@InputType()
export class CreateGroupInput {
  @Field(() => String, { description: '1-150 characters, unique.' })
  name!: string;
}

@InputType({ description: 'Only the fields given are changed.' })
export class UpdateGroupInput {
  @Field(() => String, { nullable: true })
  name?: string | null;
}
