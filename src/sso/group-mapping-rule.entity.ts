import { Entity, Enum, ManyToOne, Opt, PrimaryKey, Property, Unique, type Rel } from '@mikro-orm/core';
import { Group } from '../groups/group.entity';

/** How a rule's pattern is compared with a claim value. */
export enum MatchType {
  EXACT = 'EXACT',
  GLOB = 'GLOB',
  REGEX = 'REGEX',
}

/** The unique index that makes a rule exist once (see `ruleIdentity`). */
export const RULE_IDENTITY_INDEX = 'sso_groupmappingrule_identity_unique';

/**
 * What makes two rules the same rule, as SQL over the columns of `alias` (e.g. `r.`): the same
 * claim, match kind, case sensitivity and group, and a pattern the engine (`mapping.ts`) would
 * compare the same way — case-insensitive EXACT and GLOB patterns up to case (`lower(upper(…))`
 * folds as Unicode simple case folding does for all but a few letters), REGEX patterns as
 * written, since case carries meaning there (`\d` is not `\D`).
 */
export const ruleIdentity = (alias = ''): string =>
  `coalesce(${alias}"claim", ''), ${alias}"match_type", ${alias}"case_sensitive", ` +
  `(case when ${alias}"case_sensitive" or ${alias}"match_type" = 'REGEX' then ${alias}"pattern" else lower(upper(${alias}"pattern")) end), ` +
  `${alias}"group_id"`;

/**
 * `sso.GroupMappingRule`: when a value of `claim` in a user's token matches `pattern`, the
 * user is put in `group` at sign-in. Every matching rule applies.
 */
@Entity({ tableName: 'sso_groupmappingrule' })
@Unique({
  name: RULE_IDENTITY_INDEX,
  expression: `create unique index "${RULE_IDENTITY_INDEX}" on "sso_groupmappingrule" (${ruleIdentity()})`,
})
export class GroupMappingRule {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  /** The claim path to read (`email`, `realm_access.roles`); null means the configured groups claim. */
  @Property({ type: 'string', length: 255, nullable: true })
  claim: string | null = null;

  @Enum({ items: () => MatchType })
  matchType: MatchType & Opt = MatchType.EXACT;

  @Property({ type: 'string', length: 255 })
  pattern!: string;

  @Property({ type: 'boolean' })
  caseSensitive: boolean & Opt = true;

  @ManyToOne({ entity: () => Group, deleteRule: 'cascade' })
  group!: Rel<Group>;

  @Property({ type: 'boolean' })
  enabled: boolean & Opt = true;

  @Property({ type: 'text' })
  description: string & Opt = '';

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
