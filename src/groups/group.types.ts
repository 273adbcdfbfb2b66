import { Field, InputType } from 'type-graphql';
import { Connection } from '../graphql/connection';
import { updateInputDescription } from '../graphql/conventions';
import { Group } from './group.entity';

/* The GraphQL types of groups: inputs and the connection. The `Group` object type is the entity itself. */

export const GroupConnection = Connection(Group);

@InputType({ description: 'Which groups to list.' })
export class GroupFilter {
  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the name.' })
  search?: string | null;
}

@InputType({ description: 'A new group.' })
export class CreateGroupInput {
  @Field(() => String, { description: 'The group’s name: 1-150 characters, unique.' })
  name!: string;
}

@InputType({ description: updateInputDescription('The fields of a group to change.') })
export class UpdateGroupInput {
  @Field(() => String, { nullable: true, description: 'The group’s name: 1-150 characters, unique.' })
  name?: string | null;
}
