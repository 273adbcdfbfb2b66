import { Entity, Enum, ManyToOne, Opt, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { Group } from '../groups/group.entity';

/** How a rule's pattern is compared with a claim value. */
export enum MatchType {
  EXACT = 'EXACT',
  GLOB = 'GLOB',
  REGEX = 'REGEX',
}

/**
 * `sso.GroupMappingRule`: when a value of `claim` in a user's token matches `pattern`, the
 * user is put in `group` at sign-in. Every matching rule applies.
 */
@Entity({ tableName: 'sso_groupmappingrule' })
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
