import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../graphql/connection';
import { GlobalIdOf } from '../graphql/global-ids';
import { updateInputDescription } from '../graphql/conventions';
import { Group } from '../groups/group.entity';
import { MembershipSource } from './user-group.entity';
import { User } from './user.entity';
import type { UserMembership } from './users.loaders';
import { UserOrder } from './users.queries';

/*
 * The GraphQL types of users: enums, inputs, the membership object and the connection. The
 * `User` object type is the entity itself.
 */

export { UserOrder };
registerEnumType(UserOrder, {
  name: 'UserOrder',
  description: 'How `users` is sorted. Ties on date joined are broken by id, in the same direction.',
  valuesConfig: {
    USERNAME_ASC: { description: 'By username, A to Z.' },
    USERNAME_DESC: { description: 'By username, Z to A.' },
    DATE_JOINED_ASC: { description: 'Oldest account first; ties by id, ascending.' },
    DATE_JOINED_DESC: { description: 'Newest account first; ties by id, descending.' },
  },
});
registerEnumType(MembershipSource, {
  name: 'MembershipSource',
  description: 'Who put a user in a group: an admin, or a single sign-on mapping rule.',
  valuesConfig: {
    ADMIN: { description: 'An admin (setUserGroups); kept at every sign-in.' },
    SSO_RULE: { description: 'A mapping rule at a sign-in; re-evaluated at the next one.' },
  },
});

@InputType({ description: 'Every condition given must hold.' })
export class UserFilter {
  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of username, e-mail, first or last name.' })
  search?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Only active (true) or inactive (false) users.' })
  isActive?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: 'Only staff (true) or non-staff (false) users.' })
  isStaff?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: 'Only superusers (true) or the others (false).' })
  isSuperuser?: boolean | null;

  @Field(() => ID, { nullable: true, description: 'Only members of this group (by any membership).' })
  groupId?: string | null;
}

@InputType({ description: 'A new user; an omitted or null optional field takes its default.' })
export class CreateUserInput {
  @Field(() => String, { description: '1-150 characters: letters, digits and @ . + - _; unique.' })
  username!: string;

  @Field(() => String, { nullable: true, description: 'An e-mail address; default: none ("").' })
  email?: string | null;

  @Field(() => String, { nullable: true, description: 'At most 150 characters; default: none ("").' })
  firstName?: string | null;

  @Field(() => String, { nullable: true, description: 'At most 150 characters; default: none ("").' })
  lastName?: string | null;

  @Field(() => String, { nullable: true, description: 'Write-only. Omitted: the user has no usable password (single sign-on only).' })
  password?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Default true.' })
  isActive?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: 'Default false. Only a superuser may set it.' })
  isStaff?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: 'Default false. Only a superuser may set it.' })
  isSuperuser?: boolean | null;
}

@InputType({
  description: updateInputDescription(
    'The fields of a user to change (the password has its own mutation, setUserPassword). Every field of a user has a value: clear the e-mail or a name with "".',
  ),
})
export class UpdateUserInput {
  @Field(() => String, { nullable: true, description: '1-150 characters: letters, digits and @ . + - _; unique.' })
  username?: string | null;

  @Field(() => String, { nullable: true, description: 'An e-mail address, or "" for none.' })
  email?: string | null;

  @Field(() => String, { nullable: true, description: 'At most 150 characters, or "" for none.' })
  firstName?: string | null;

  @Field(() => String, { nullable: true, description: 'At most 150 characters, or "" for none.' })
  lastName?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'false ends all of the user’s sessions.' })
  isActive?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: 'Only a superuser may change it.' })
  isStaff?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: 'Only a superuser may change it.' })
  isSuperuser?: boolean | null;
}

export const UserConnection = Connection(User);

/** One reason a user is in a group. A user can be in one group for several reasons. */
@ObjectType('Membership', { simpleResolvers: true, description: 'One reason a user is in a group.' })
export class Membership implements UserMembership {
  @Field(() => Group, { description: 'The group.' })
  group!: Group;

  @Field(() => MembershipSource, { description: 'Who put the user in it: an admin, or a mapping rule.' })
  source!: MembershipSource;

  @Field(() => ID, { nullable: true, description: 'The single sign-on mapping rule that granted it; null when an admin did.' })
  @GlobalIdOf('GroupMappingRule')
  ruleId!: string | null;
}
