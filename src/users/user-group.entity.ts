import { Check, Entity, Enum, Index, ManyToOne, Opt, PrimaryKey, Property, Unique, type Rel } from '@mikro-orm/core';
import { Group } from '../groups/group.entity';
import { GroupMappingRule } from '../sso/group-mapping-rule.entity';
import { User } from './user.entity';

/** Why a user is in a group: an admin put them there, or a single sign-on mapping rule did. */
export enum MembershipSource {
  ADMIN = 'admin',
  SSO_RULE = 'sso_rule',
}

/**
 * user ↔ group membership, with its source. A user is a member of a group when at least one
 * row exists; a single sign-on re-sync adds and removes only the rows its rules granted, so a
 * hand-assigned membership survives every login.
 */
@Entity({ tableName: 'auth_user_groups' })
@Unique({ name: 'auth_user_groups_user_group_rule_unique', properties: ['user', 'group', 'rule'] })
@Unique({
  name: 'auth_user_groups_user_group_admin_unique',
  expression:
    'create unique index "auth_user_groups_user_group_admin_unique" on "auth_user_groups" ("user_id", "group_id") where "rule_id" is null',
})
@Index({ name: 'auth_user_groups_group_id_index', properties: ['group'] })
@Check({ name: 'auth_user_groups_source_rule_check', expression: `(source = 'admin') = (rule_id is null)` })
export class UserGroup {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  user!: Rel<User>;

  @ManyToOne({ entity: () => Group, deleteRule: 'cascade' })
  group!: Rel<Group>;

  @Enum({ items: () => MembershipSource })
  source: MembershipSource & Opt = MembershipSource.ADMIN;

  /** The single sign-on mapping rule that granted this membership; null when an admin did. */
  @ManyToOne({ entity: () => GroupMappingRule, nullable: true, deleteRule: 'cascade' })
  rule: Rel<GroupMappingRule> | null = null;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();
}
