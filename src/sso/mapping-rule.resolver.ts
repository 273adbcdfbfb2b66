import { GraphQLJSON } from 'graphql-scalars';
import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { nodeKey } from '../db/ids';
import type { Page } from '../db/keyset';
import { badInput, refuseNulls } from '../errors';
import { HasPermission } from '../graphql/access';
import type { GatehouseContext } from '../graphql/context';
import { AFTER_DESCRIPTION, DeletePayload, deleted, FIRST_DESCRIPTION } from '../graphql/conventions';
import { GRANT_RULE_SUMMARY } from '../permissions/grant-rule';
import { permissionFor } from '../permissions/registry';
import type { GroupMappingRule as GroupMappingRuleEntity } from './group-mapping-rule.entity';
import {
  CreateGroupMappingRuleInput,
  GroupMappingImpact,
  GroupMappingPreview,
  GroupMappingRuleConnection,
  GroupMappingRuleType as GroupMappingRule,
  ProposedGroupMappingRuleInput,
  UpdateGroupMappingRuleInput,
} from './mapping-rule.types';
import {
  createRule,
  deleteRule,
  findRule,
  listRules,
  previewMapping,
  previewRuleChange,
  RULE_MODEL,
  updateRule,
} from './mapping-rules.service';
import { loginPolicyInForce } from './settings';

const VIEW = permissionFor(RULE_MODEL, 'view');
const ADD = permissionFor(RULE_MODEL, 'add');
const CHANGE = permissionFor(RULE_MODEL, 'change');
const DELETE = permissionFor(RULE_MODEL, 'delete');

@Resolver()
export class GroupMappingRuleResolver {
  @Query(() => GroupMappingRuleConnection, { description: 'The single sign-on group-mapping rules, oldest first (by id).' })
  @HasPermission(VIEW)
  groupMappingRules(
    @Ctx() { em }: GatehouseContext,
    @Arg('first', () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) after?: string | null,
  ): Promise<Page<GroupMappingRuleEntity>> {
    return listRules(em, first, after);
  }

  @Query(() => GroupMappingRule, { nullable: true, description: 'The group-mapping rule with this id; null when there is none.' })
  @HasPermission(VIEW)
  groupMappingRule(
    @Ctx() { em }: GatehouseContext,
    @Arg('id', () => ID, { description: 'The rule’s id.' }) id: string,
  ): Promise<GroupMappingRuleEntity | null> {
    return findRule(em, id);
  }

  @Mutation(() => GroupMappingRule, {
    description: `Creates a rule: whoever matches it is put in its group at sign-in. ${GRANT_RULE_SUMMARY}`,
  })
  @HasPermission(ADD)
  createGroupMappingRule(
    @Arg('input', () => CreateGroupMappingRuleInput, { description: 'The new rule.' }) input: CreateGroupMappingRuleInput,
    @Ctx() { em, user }: GatehouseContext,
  ): Promise<GroupMappingRuleEntity> {
    return createRule(em, user, { ...input, claim: input.claim ?? null, groupId: groupIdOf(input.groupId) });
  }

  @Mutation(() => GroupMappingRule, {
    description: `Changes the given fields of a rule; its users’ groups follow at their next sign-in. ${GRANT_RULE_SUMMARY}`,
  })
  @HasPermission(CHANGE)
  updateGroupMappingRule(
    @Arg('id', () => ID, { description: 'The rule’s id.' }) id: string,
    @Arg('input', () => UpdateGroupMappingRuleInput, { description: 'The fields to change.' }) input: UpdateGroupMappingRuleInput,
    @Ctx() { em, user }: GatehouseContext,
  ): Promise<GroupMappingRuleEntity> {
    refuseNulls(input, ['matchType', 'pattern', 'caseSensitive', 'groupId', 'enabled', 'description']);
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

  @Mutation(() => DeletePayload, { description: 'Deletes a rule; the group memberships it granted go with it.' })
  @HasPermission(DELETE)
  async deleteGroupMappingRule(
    @Arg('id', () => ID, { description: 'The rule’s id.' }) id: string,
    @Ctx() { em, user }: GatehouseContext,
  ): Promise<DeletePayload> {
    await deleteRule(em, user, id);
    return deleted('GroupMappingRule', nodeKey(id, 'GroupMappingRule', 'id'));
  }

  @Query(() => GroupMappingPreview, {
    description:
      'What the enabled rules would make of these ID-token claims and, for a person provisioned through SCIM, their SCIM groups (added to the groups claim, as at their sign-in): matches and where each value came from, groups, and whether the sign-in would be let in.',
  })
  @HasPermission(VIEW)
  async previewGroupMapping(
    @Arg('claims', () => GraphQLJSON, {
      description: 'ID-token claims, as a JSON object, e.g. {"groups": ["B2E_APP_MANAGEMENT_SUPPORT"]}.',
    })
    claims: unknown,
    @Ctx() { em, services }: GatehouseContext,
    @Arg('scimGroups', () => [String], {
      nullable: true,
      description: 'The displayNames of the SCIM groups the person is a member of (the directory groups provisioning pushed).',
    })
    scimGroups?: string[] | null,
  ): Promise<GroupMappingPreview> {
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw badInput('claims', 'must be a JSON object of claims');
    const settings = loginPolicyInForce(services.config, services.sso?.settings);
    const { result, groups, decision, sources } = await previewMapping(em, claims as Record<string, unknown>, {
      ...settings,
      directoryGroups: scimGroups ?? [],
    });
    return {
      matches: result.matches.map((m, i) => ({ rule: m.rule, claim: m.claim, value: m.value, sources: sources[i] })),
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
      'For a proposed new rule or change: which single sign-on users would gain or lose which groups, judged on the claims of their last sign-in, by user id. Writes nothing.',
  })
  @HasPermission(VIEW)
  async previewGroupMappingRule(
    @Arg('input', () => ProposedGroupMappingRuleInput, { description: 'The rule as it would be.' }) input: ProposedGroupMappingRuleInput,
    @Ctx() { em, services }: GatehouseContext,
  ): Promise<GroupMappingImpact[]> {
    const policy = loginPolicyInForce(services.config, services.sso?.settings);
    const impacts = await previewRuleChange(
      em,
      { ...input, claim: input.claim ?? null, groupId: groupIdOf(input.groupId) },
      policy.groupsClaim,
      { allowString: policy.groupsClaimAllowString },
    );
    return impacts.map(({ user, gained, lost }) => ({ userId: user.id, username: user.username, gained, lost }));
  }
}

/** The group an input names; an ID that cannot name one is BAD_USER_INPUT naming `input.groupId`, as an unknown one is. */
function groupIdOf(id: string): number {
  return nodeKey(id, 'Group', 'input.groupId');
}
