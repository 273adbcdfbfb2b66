import { Arg, Ctx, Field, ID, ObjectType, Query, registerEnumType, Resolver } from 'type-graphql';
import { nodeKey } from '../db/ids';
import { badInput } from '../errors';
import { HasPermission } from '../graphql/access';
import type { GatehouseContext } from '../graphql/context';
import { GlobalIdOf } from '../graphql/global-ids';
import type { GroupMappingRule } from '../sso/group-mapping-rule.entity';
import { GroupMappingRuleType } from '../sso/mapping-rule.types';
import { loginPolicyInForce } from '../sso/settings';
import { MembershipSource } from '../users/user-group.entity';
import { User } from '../users/user.entity';
// Registers the MembershipSource enum with the schema (the users module owns its GraphQL name).
import '../users/user.types';
import { explainPermission } from './explain';
import { GRANT_RULE_SUMMARY } from './grant-rule';
import { PermissionReason } from './has-perm';
import { isPermissionName, modelRef, permissionFor } from './registry';

registerEnumType(PermissionReason, {
  name: 'PermissionReason',
  description: 'Which rule of the permission policy decided.',
  valuesConfig: {
    INACTIVE: { description: 'The user is inactive: no permission at all, superuser or not.' },
    SUPERUSER: { description: 'An active superuser has every permission.' },
    DIRECT_GRANT: { description: 'Granted to the user directly.' },
    GROUPS: { description: 'Granted only through one or more of the user’s groups.' },
    NONE: { description: 'Not granted.' },
  },
});

@ObjectType('MembershipGrant', { description: 'One reason a user is in a group.' })
export class MembershipGrantInfo {
  @Field(() => MembershipSource, { description: 'Who put the user in the group: an admin, or a mapping rule.' })
  source!: MembershipSource;

  @Field(() => ID, { nullable: true, description: 'The mapping rule behind an SSO_RULE membership.' })
  @GlobalIdOf('GroupMappingRule')
  ruleId!: number | null;

  @Field(() => GroupMappingRuleType, { nullable: true, description: 'That mapping rule (its claim, pattern and group).' })
  @HasPermission(permissionFor(modelRef('sso', 'groupmappingrule'), 'view'))
  rule!: GroupMappingRule | null;

  @Field(() => String, {
    nullable: true,
    description: 'The value of the rule’s claim that matched, in the claims of the user’s last single sign-on.',
  })
  claimValue!: string | null;
}

@ObjectType('GroupGrant', { description: 'A group of the user that carries the permission.' })
export class GroupGrantInfo {
  @Field(() => ID, { description: 'The group’s id.' })
  @GlobalIdOf('Group')
  groupId!: number;

  @Field(() => String, { description: 'The group’s name.' })
  groupName!: string;

  @Field(() => [MembershipGrantInfo], { description: 'Why the user is in it, the oldest membership first (by id).' })
  memberships!: MembershipGrantInfo[];
}

@ObjectType('PermissionExplanation', { description: 'Whether a user has a permission, and why.' })
export class PermissionExplanationInfo {
  @Field(() => User, { description: 'The user asked about.' })
  user!: User;

  @Field(() => String, { description: 'The permission asked about (app_label.codename).' })
  permission!: string;

  @Field(() => Boolean, { description: 'Whether the user has it.' })
  granted!: boolean;

  @Field(() => PermissionReason, { description: 'INACTIVE and SUPERUSER decide before any grant is looked at.' })
  reason!: PermissionReason;

  @Field(() => Boolean, { description: 'Held directly, whatever decided.' })
  directGrant!: boolean;

  @Field(() => [GroupGrantInfo], { description: 'The user’s groups that carry it, whatever decided, by name.' })
  groups!: GroupGrantInfo[];

  @Field(() => Boolean, {
    description: `Whether the user may grant the permission to another user or group: exactly when granted. ${GRANT_RULE_SUMMARY}`,
  })
  grantable!: boolean;
}

@Resolver()
export class ExplainPermissionResolver {
  @Query(() => PermissionExplanationInfo, {
    name: 'explainPermission',
    description:
      'Whether the user has the permission (app_label.codename) and why. An unknown permission is BAD_USER_INPUT, an unknown user NOT_FOUND.',
  })
  @HasPermission(permissionFor(modelRef('auth', 'user'), 'view'))
  explain(
    @Ctx() { em, services }: GatehouseContext,
    @Arg('userId', () => ID, { description: 'The user’s id.' }) userId: string,
    @Arg('permission', () => String, { description: 'The permission, as app_label.codename (core.view_tweet).' }) permission: string,
  ): Promise<PermissionExplanationInfo> {
    if (!isPermissionName(permission)) throw badInput('permission', `"${permission}" is not a permission in the model registry`);
    return explainPermission(
      em,
      nodeKey(userId, 'User', 'userId'),
      permission,
      loginPolicyInForce(services.config, services.sso?.settings),
    );
  }
}
