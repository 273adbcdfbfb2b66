import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * The version of the mapping rules: one row, set from a sequence by PostgreSQL triggers (migration
 * `Migration20261129204500_scale`) in the transaction of every statement that inserts, changes or
 * deletes rules (cascades from a deleted group included) or renames a group. Each Gatehouse
 * instance keeps the rules compiled for the version it last read (`rule-cache.ts`) and reads
 * this row — one primary-key lookup — to know whether they are still current.
 */
@Entity({ tableName: 'sso_rule_set_version' })
export class RuleSetVersion {
  @PrimaryKey({ type: 'integer', autoincrement: false })
  id!: number;

  @Property({ type: 'bigint' })
  version!: string;
}

/** The version, as a SQL expression (a subquery), for statements that read it with other things. */
export const RULES_VERSION_SQL = '(select version from sso_rule_set_version where id = 1)';
