import { GraphQLJSON } from 'graphql-scalars';
import { Arg, Ctx, Field, ID, InputType, Int, Mutation, ObjectType, Query, registerEnumType, Resolver } from 'type-graphql';
import { badInput } from '../errors';
import { HasPermission } from '../graphql/access';
import { Connection, type Page } from '../graphql/connection';
import type { GatehouseContext, GatehouseServices } from '../graphql/context';
import { permissionFor } from '../permissions/registry';
import { GroupMappingRule as GroupMappingRuleEntity, MatchType } from './group-mapping-rule.entity';
import { createRule, deleteRule, listRules, previewMapping, previewRuleChange, RULE_MODEL, updateRule } from './mapping-rules.service';

registerEnumType(MatchType, {
  name: 'MatchType',
  description: 'How a mapping rule’s pattern is compared with a claim value; always against the whole value.',
  valuesConfig: {
    EXACT: { description: 'The value equals the pattern.' },
    GLOB: { description: 'Shell-style: `*` any characters, `?` one, `[a-z]` / `[!a-z]` a class; everything else literal.' },
    REGEX: { description: 'An RE2 regular expression (no backreferences or lookaround), anchored at both ends.' },
  },
});

const GroupsClaimProblemEnum = { MISSING: 'missing', EMPTY: 'empty', NOT_A_STRING_LIST: 'not_a_string_list' } as const;
registerEnumType(GroupsClaimProblemEnum, {
  name: 'GroupsClaimProblem',
  description: 'Why the groups claim cannot be used; each refuses the login.',
});

const VIEW = permissionFor(RULE_MODEL, 'view');
const ADD = permissionFor(RULE_MODEL, 'add');
const CHANGE = permissionFor(RULE_MODEL, 'change');
const DELETE = permissionFor(RULE_MODEL, 'delete');

@ObjectType('MappedGroup', { description: 'A local group that a mapping rule grants.' })
export class MappedGroup {
  @Field(() => ID)
  id!: number;

  @Field(() => String)
  name!: string;
}

// Named GroupMappingRule so that the connection types read GroupMappingRuleConnection / -Edge.
@ObjectType('GroupMappingRule', {
  description: 'A single sign-on rule: a claim value matching `pattern` puts the user in `group` at sign-in.',
})
class GroupMappingRule {
  @Field(() => ID)
  id!: number;

  @Field(() => String, {
    nullable: true,
    description: 'The claim path read (`email`, `realm_access.roles`); null: the configured groups claim.',
  })
  claim!: string | null;

  @Field(() => MatchType)
  matchType!: MatchType;

  @Field(() => String)
  pattern!: string;

  @Field(() => Boolean)
  caseSensitive!: boolean;

  @Field(() => MappedGroup)
  group!: MappedGroup;

  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => String)
  description!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}
export { GroupMappingRule as GroupMappingRuleType };

const GroupMappingRuleConnection = Connection(GroupMappingRule);

@InputType()
export class CreateGroupMappingRuleInput {
  @Field(() => String, { nullable: true, description: 'Claim name or dotted path; null or omitted: the configured groups claim.' })
  claim?: string | null;

  @Field(() => MatchType, { defaultValue: MatchType.EXACT })
  matchType!: MatchType;

  @Field(() => String)
  pattern!: string;

  @Field(() => Boolean, { defaultValue: true })
  caseSensitive!: boolean;

  @Field(() => ID)
  groupId!: string;

  @Field(() => Boolean, { defaultValue: true })
  enabled!: boolean;

  @Field(() => String, { defaultValue: '' })
  description!: string;
}

@InputType({ description: 'Only the fields given change; `claim: null` goes back to the groups claim.' })
export class UpdateGroupMappingRuleInput {
  @Field(() => String, { nullable: true })
  claim?: string | null;

  @Field(() => MatchType, { nullable: true })
  matchType?: MatchType | null;

  @Field(() => String, { nullable: true })
  pattern?: string | null;

  @Field(() => Boolean, { nullable: true })
  caseSensitive?: boolean | null;

  @Field(() => ID, { nullable: true })
  groupId?: string | null;

  @Field(() => Boolean, { nullable: true })
  enabled?: boolean | null;

  @Field(() => String, { nullable: true })
  description?: string | null;
}

@InputType({ description: 'A rule as it would be: a new one (no id) or an existing one changed (its id).' })
export class ProposedGroupMappingRuleInput extends CreateGroupMappingRuleInput {
  @Field(() => ID, { nullable: true })
  id?: string | null;
}

@ObjectType({ description: 'A rule that matched, the claim it read and the value that matched.' })
export class GroupMappingMatch {
  @Field(() => GroupMappingRule)
  rule!: GroupMappingRule;

  @Field(() => String)
  claim!: string;

  @Field(() => String)
  value!: string;
}

@ObjectType({ description: 'What the enabled mapping rules make of a set of claims.' })
export class GroupMappingPreview {
  @Field(() => [GroupMappingMatch])
  matches!: GroupMappingMatch[];

  @Field(() => [MappedGroup], { description: 'The local groups the matching rules grant.' })
  groups!: MappedGroup[];

  @Field(() => Boolean, { description: 'Whether a sign-in with these claims would be let in.' })
  loginAllowed!: boolean;

  @Field(() => String, {
    nullable: true,
    description: 'Why it would be refused: groups_claim_missing, groups_claim_empty, groups_claim_not_a_string_list or no_matching_rule.',
  })
  refusal!: string | null;

  @Field(() => String, { description: 'The groups claim read.' })
  groupsClaim!: string;

  @Field(() => GroupsClaimProblemEnum, { nullable: true })
  groupsClaimProblem!: string | null;

  @Field(() => Boolean, { description: 'SSO_REQUIRE_MAPPED_GROUP: whether a sign-in matching no rule is refused.' })
  requireMappedGroup!: boolean;
}

@ObjectType({ description: 'How a proposed rule would change one single sign-on user’s groups at their next sign-in.' })
export class GroupMappingImpact {
  @Field(() => ID)
  userId!: number;

  @Field(() => String)
  username!: string;

  @Field(() => [MappedGroup])
  gained!: MappedGroup[];

  @Field(() => [MappedGroup])
  lost!: MappedGroup[];
}

/**
 * The groups claim and login policy in force: the running single sign-on's settings (which name
 * the development IdP's own groups claim when it is on), else the configuration.
 */
export function mappingSettings(services: GatehouseServices): { groupsClaim: string; requireMappedGroup: boolean } {
  const settings = services.sso?.settings;
  return {
    groupsClaim: settings?.groupsClaim ?? services.config.OIDC_GROUPS_CLAIM,
    requireMappedGroup: settings?.requireMappedGroup ?? services.config.SSO_REQUIRE_MAPPED_GROUP,
  };
}

@Resolver()
export class GroupMappingRuleResolver {
  @Query(() => GroupMappingRuleConnection, { description: 'The single sign-on group-mapping rules, oldest first.' })
  @HasPermission(VIEW)
  groupMappingRules(
    @Ctx() { em }: GatehouseContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<Page<GroupMappingRuleEntity>> {
    return listRules(em, first, after);
  }

  @Mutation(() => GroupMappingRule)
  @HasPermission(ADD)
  createGroupMappingRule(
    @Arg('input', () => CreateGroupMappingRuleInput) input: CreateGroupMappingRuleInput,
    @Ctx() { em, user }: GatehouseContext,
  ): Promise<GroupMappingRuleEntity> {
    return createRule(em, user, { ...input, claim: input.claim ?? null, groupId: groupIdOf(input.groupId) });
  }

  @Mutation(() => GroupMappingRule)
  @HasPermission(CHANGE)
  updateGroupMappingRule(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateGroupMappingRuleInput) input: UpdateGroupMappingRuleInput,
    @Ctx() { em, user }: GatehouseContext,
  ): Promise<GroupMappingRuleEntity> {
    return updateRule(em, user, id, {
      claim: input.claim,
      matchType: input.matchType ?? undefined,
      pattern: input.pattern ?? undefined,
      caseSensitive: input.caseSensitive ?? undefined,
      groupId: input.groupId === undefined || input.groupId === null ? undefined : groupIdOf(input.groupId),
      enabled: input.enabled ?? undefined,
      description: input.description ?? undefined,
    });
  }

  @Mutation(() => Boolean, { description: 'Deletes a rule; the group memberships it granted go with it.' })
  @HasPermission(DELETE)
  async deleteGroupMappingRule(@Arg('id', () => ID) id: string, @Ctx() { em, user }: GatehouseContext): Promise<boolean> {
    await deleteRule(em, user, id);
    return true;
  }

  @Query(() => GroupMappingPreview, {
    description: 'What the enabled rules would make of these ID-token claims: matches, groups, and whether the sign-in would be let in.',
  })
  @HasPermission(VIEW)
  async previewGroupMapping(
    @Arg('claims', () => GraphQLJSON) claims: unknown,
    @Ctx() { em, services }: GatehouseContext,
  ): Promise<GroupMappingPreview> {
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw badInput('claims', 'must be a JSON object of claims');
    const settings = mappingSettings(services);
    const { result, groups, decision } = await previewMapping(em, claims as Record<string, unknown>, settings);
    return {
      matches: result.matches.map((m) => ({ rule: m.rule, claim: m.claim, value: m.value })),
      groups,
      loginAllowed: decision.allowed,
      refusal: decision.refusal,
      groupsClaim: settings.groupsClaim,
      groupsClaimProblem: result.groupsClaimProblem,
      requireMappedGroup: settings.requireMappedGroup,
    };
  }

  @Query(() => [GroupMappingImpact], {
    description:
      'For a proposed new rule or change: which single sign-on users would gain or lose which groups, judged on the claims of their last sign-in. Writes nothing.',
  })
  @HasPermission(VIEW)
  async previewGroupMappingRule(
    @Arg('input', () => ProposedGroupMappingRuleInput) input: ProposedGroupMappingRuleInput,
    @Ctx() { em, services }: GatehouseContext,
  ): Promise<GroupMappingImpact[]> {
    const impacts = await previewRuleChange(
      em,
      { ...input, claim: input.claim ?? null, groupId: groupIdOf(input.groupId) },
      mappingSettings(services).groupsClaim,
    );
    return impacts.map(({ user, gained, lost }) => ({ userId: user.id, username: user.username, gained, lost }));
  }
}

function groupIdOf(id: string): number {
  const n = /^\d{1,15}$/.test(id) ? Number(id) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw badInput('input.groupId', `no group has the id ${id}`);
  return n;
}
