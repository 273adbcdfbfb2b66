import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from '../graphql/connection';
import { updateInputDescription } from '../graphql/conventions';
import { GlobalIdOf } from '../graphql/global-ids';
import { MatchType } from './group-mapping-rule.entity';

/*
 * The GraphQL types of single sign-on's group mapping: the rule as the API shows it, its inputs,
 * and what the previews answer. The resolver (`mapping-rule.resolver.ts`) uses them; so does the
 * permission explanation, which names the rule behind a membership.
 */

registerEnumType(MatchType, {
  name: 'MatchType',
  description: 'How a mapping rule’s pattern is compared with a claim value; always against the whole value.',
  valuesConfig: {
    EXACT: { description: 'The value equals the pattern.' },
    GLOB: { description: 'Shell-style: `*` any characters, `?` one, `[a-z]` / `[!a-z]` a class; everything else literal.' },
    REGEX: { description: 'An RE2 regular expression (no backreferences or lookaround), anchored at both ends.' },
  },
});

const GroupsClaimProblemEnum = {
  MISSING: 'missing',
  EMPTY: 'empty',
  NOT_A_LIST: 'not_a_list',
  NOT_A_STRING_LIST: 'not_a_string_list',
} as const;
registerEnumType(GroupsClaimProblemEnum, {
  name: 'GroupsClaimProblem',
  description: 'Why the groups claim cannot be used; each refuses the login.',
  valuesConfig: {
    MISSING: { description: 'The claim is absent or null.' },
    EMPTY: { description: 'The claim is an empty list.' },
    NOT_A_LIST: { description: 'The claim is a single string (accepted as a list of one only with OIDC_GROUPS_CLAIM_ALLOW_STRING).' },
    NOT_A_STRING_LIST: { description: 'The claim is not a list of strings.' },
  },
});

// simpleResolvers: read straight off the object; a preview answers thousands of these.
@ObjectType('MappedGroup', { description: 'A local group that a mapping rule grants.', simpleResolvers: true })
export class MappedGroup {
  @Field(() => ID, { description: 'The group’s id.' })
  @GlobalIdOf('Group')
  id!: number;

  @Field(() => String, { description: 'The group’s name.' })
  name!: string;
}

// Named GroupMappingRule so that the connection types read GroupMappingRuleConnection / -Edge.
@ObjectType('GroupMappingRule', {
  description: 'A single sign-on rule: a claim value matching `pattern` puts the user in `group` at sign-in.',
})
class GroupMappingRule {
  @Field(() => ID, { description: 'The rule’s id.' })
  id!: number;

  @Field(() => String, {
    nullable: true,
    description: 'The claim path read (`email`, `realm_access.roles`); null: the configured groups claim.',
  })
  claim!: string | null;

  @Field(() => MatchType, { description: 'How `pattern` is compared with the claim’s values.' })
  matchType!: MatchType;

  @Field(() => String, { description: 'What a claim value must match, whole.' })
  pattern!: string;

  @Field(() => Boolean, { description: 'Whether case counts when comparing.' })
  caseSensitive!: boolean;

  @Field(() => MappedGroup, { description: 'The local group whoever matches is put in.' })
  group!: MappedGroup;

  @Field(() => Boolean, { description: 'A disabled rule is kept but matches nothing.' })
  enabled!: boolean;

  @Field(() => String, { description: 'What the rule is for.' })
  description!: string;

  @Field(() => Date, { description: 'When it was created.' })
  createdAt!: Date;

  @Field(() => Date, { description: 'When it was last changed.' })
  updatedAt!: Date;
}
export { GroupMappingRule as GroupMappingRuleType };

export const GroupMappingRuleConnection = Connection(GroupMappingRule);

const RULE_FIELDS = {
  claim:
    'The claim read: a name or dotted path (`email`, `realm_access.roles`), at most 255 characters; null or omitted: the configured groups claim.',
  matchType: 'How `pattern` is compared with the claim’s values.',
  pattern: 'What a claim value must match, whole: 1-255 characters, valid for `matchType`.',
  caseSensitive: 'Whether case counts when comparing; false folds case (Unicode simple case folding).',
  groupId: 'The local group whoever matches is put in; a non-superuser only one whose every permission it holds.',
  enabled: 'A disabled rule is kept but matches nothing.',
  description: 'What the rule is for; at most 1,000 characters.',
} as const;

const DUPLICATE_RULE =
  'A rule that repeats an existing one (the same claim, match type, case sensitivity, pattern as compared, and group) is CONFLICT naming it.';

@InputType({ description: `A new mapping rule. ${DUPLICATE_RULE}` })
export class CreateGroupMappingRuleInput {
  @Field(() => String, { nullable: true, description: RULE_FIELDS.claim })
  claim?: string | null;

  @Field(() => MatchType, { defaultValue: MatchType.EXACT, description: RULE_FIELDS.matchType })
  matchType!: MatchType;

  @Field(() => String, { description: RULE_FIELDS.pattern })
  pattern!: string;

  @Field(() => Boolean, { defaultValue: true, description: RULE_FIELDS.caseSensitive })
  caseSensitive!: boolean;

  @Field(() => ID, { description: RULE_FIELDS.groupId })
  groupId!: string;

  @Field(() => Boolean, { defaultValue: true, description: RULE_FIELDS.enabled })
  enabled!: boolean;

  @Field(() => String, { defaultValue: '', description: RULE_FIELDS.description })
  description!: string;
}

@InputType({
  description: updateInputDescription(`The fields of a mapping rule to change. ${DUPLICATE_RULE}`, '`claim` (back to the groups claim)'),
})
export class UpdateGroupMappingRuleInput {
  @Field(() => String, { nullable: true, description: `${RULE_FIELDS.claim.replace('null or omitted', 'null')}` })
  claim?: string | null;

  @Field(() => MatchType, { nullable: true, description: RULE_FIELDS.matchType })
  matchType?: MatchType | null;

  @Field(() => String, { nullable: true, description: RULE_FIELDS.pattern })
  pattern?: string | null;

  @Field(() => Boolean, { nullable: true, description: RULE_FIELDS.caseSensitive })
  caseSensitive?: boolean | null;

  @Field(() => ID, { nullable: true, description: RULE_FIELDS.groupId })
  groupId?: string | null;

  @Field(() => Boolean, { nullable: true, description: RULE_FIELDS.enabled })
  enabled?: boolean | null;

  @Field(() => String, { nullable: true, description: RULE_FIELDS.description })
  description?: string | null;
}

@InputType({ description: 'A rule as it would be: a new one (no id) or an existing one changed (its id).' })
export class ProposedGroupMappingRuleInput extends CreateGroupMappingRuleInput {
  @Field(() => ID, { nullable: true, description: 'The rule the proposal changes; omitted: a new rule.' })
  id?: string | null;
}

const MappingSourceEnum = { TOKEN: 'token', SCIM: 'scim' } as const;
registerEnumType(MappingSourceEnum, {
  name: 'MappingSource',
  description: 'Where a claim value came from: the token’s claims, or the directory groups pushed through SCIM provisioning.',
  valuesConfig: {
    TOKEN: { description: 'The claims given (an ID token’s).' },
    SCIM: { description: 'The SCIM groups given, read as values of the groups claim.' },
  },
});

@ObjectType({ description: 'A rule that matched, the claim it read and the value that matched.' })
export class GroupMappingMatch {
  @Field(() => GroupMappingRule, { description: 'The rule.' })
  rule!: GroupMappingRule;

  @Field(() => String, { description: 'The claim it read (the groups claim for a rule without one).' })
  claim!: string;

  @Field(() => String, { description: 'The first value of that claim that matched.' })
  value!: string;

  @Field(() => [MappingSourceEnum], {
    description:
      'Which sources hold the value: TOKEN (the claims given), SCIM (the `scimGroups` given, as the groups claim), or both, TOKEN first.',
  })
  sources!: string[];
}

@ObjectType({ description: 'What the enabled mapping rules make of a set of claims.' })
export class GroupMappingPreview {
  @Field(() => [GroupMappingMatch], { description: 'Every enabled rule that matched, oldest rule first (by id).' })
  matches!: GroupMappingMatch[];

  @Field(() => [MappedGroup], { description: 'The local groups the matching rules grant, by id.' })
  groups!: MappedGroup[];

  @Field(() => Boolean, { description: 'Whether a sign-in with these claims would be let in.' })
  loginAllowed!: boolean;

  @Field(() => String, {
    nullable: true,
    description:
      'Why it would be refused: groups_claim_missing, groups_claim_empty, groups_claim_not_a_list, groups_claim_not_a_string_list or no_matching_rule.',
  })
  refusal!: string | null;

  @Field(() => String, { description: 'The groups claim read.' })
  groupsClaim!: string;

  @Field(() => GroupsClaimProblemEnum, {
    nullable: true,
    description: 'What is wrong with the groups claim; null when it is a non-empty list of strings.',
  })
  groupsClaimProblem!: string | null;

  @Field(() => Boolean, { description: 'SSO_REQUIRE_MAPPED_GROUP: whether a sign-in matching no rule is refused.' })
  requireMappedGroup!: boolean;
}

@ObjectType({
  description: 'How a proposed rule would change one single sign-on user’s groups at their next sign-in.',
  simpleResolvers: true,
})
export class GroupMappingImpact {
  @Field(() => ID, { description: 'The user’s id.' })
  @GlobalIdOf('User')
  userId!: number;

  @Field(() => String, { description: 'The user’s username.' })
  username!: string;

  @Field(() => [MappedGroup], { description: 'The groups the user would join, by group id.' })
  gained!: MappedGroup[];

  @Field(() => [MappedGroup], { description: 'The groups the user would leave, by group id.' })
  lost!: MappedGroup[];
}
