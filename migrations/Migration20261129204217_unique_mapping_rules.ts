import { Migration } from '@mikro-orm/migrations';

const IDENTITY =
  `coalesce("claim", ''), "match_type", "case_sensitive", ` +
  `(case when "case_sensitive" or "match_type" = 'REGEX' then "pattern" else lower(upper("pattern")) end), "group_id"`;

// Each rule written more than once but the oldest (`keep_id`), and whether any copy is enabled.
const DUPLICATES = `with "duplicate" as (
  select * from (
    select "id", min("id") over w as "keep_id", bool_or("enabled") over w as "any_enabled"
    from "sso_groupmappingrule" window w as (partition by ${IDENTITY})
  ) ranked where "id" <> "keep_id")`;

/**
 * A mapping rule exists once: the same claim, match kind, case sensitivity, pattern (as the
 * engine compares it) and group. Rules written twice before this migration are merged into the
 * oldest copy — enabled when any copy was, the copies' memberships moved to it — so that the
 * index can be built and no user loses a group.
 */
export class Migration20261129204217_unique_mapping_rules extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `${DUPLICATES} update "sso_groupmappingrule" r set "enabled" = true from "duplicate" d where r."id" = d."keep_id" and d."any_enabled";`,
    );
    // One membership per user and group moves to the kept rule (unless it has one already);
    // the others go with their rule.
    this.addSql(
      `${DUPLICATES} update "auth_user_groups" m set "rule_id" = d."keep_id" from "duplicate" d
         where m."rule_id" = d."id"
           and m."id" = (select min(o."id") from "auth_user_groups" o join "duplicate" od on o."rule_id" = od."id"
                         where od."keep_id" = d."keep_id" and o."user_id" = m."user_id" and o."group_id" = m."group_id")
           and not exists (select 1 from "auth_user_groups" k
                           where k."rule_id" = d."keep_id" and k."user_id" = m."user_id" and k."group_id" = m."group_id");`,
    );
    this.addSql(`${DUPLICATES} delete from "sso_groupmappingrule" r using "duplicate" d where r."id" = d."id";`);
    this.addSql(`create unique index "sso_groupmappingrule_identity_unique" on "sso_groupmappingrule" (${IDENTITY});`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "sso_groupmappingrule_identity_unique";`);
  }
}
