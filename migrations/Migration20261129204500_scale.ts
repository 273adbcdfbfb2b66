import { Migration } from '@mikro-orm/migrations';

/**
 * Gatehouse at 100,000 users and 5,000 mapping rules:
 * - pg_trgm GIN indexes on the four columns `users(filter: { search })` reads with ILIKE '%term%'
 *   (PostgreSQL ORs the four bitmaps); an index on (date_joined, id) for the DATE_JOINED_* orders;
 * - `auth_user_tally`: the users counted by (is_active, is_staff, is_superuser) as deltas appended
 *   by triggers, so that `totalCount` without a search never scans `auth_user` (see UserTally);
 * - `sso_rule_set_version`: a counter the rule and group triggers increment, so that each instance
 *   knows when the rules it compiled are stale (see RuleSetVersion).
 * The embedded database (PGlite) loads pg_trgm at start (src/db/embedded.ts).
 */
export class Migration20261129204500_scale extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create extension if not exists pg_trgm;`);
    this.addSql(`create index "auth_user_date_joined_id_index" on "auth_user" ("date_joined", "id");`);
    for (const column of ['username', 'email', 'first_name', 'last_name'])
      this.addSql(`create index "auth_user_${column}_trgm_index" on "auth_user" using gin ("${column}" gin_trgm_ops);`);

    this.addSql(
      `create table "auth_user_tally" ("id" bigserial primary key, "is_active" boolean not null, "is_staff" boolean not null, "is_superuser" boolean not null, "delta" bigint not null);`,
    );
    this.addSql(
      `insert into "auth_user_tally" ("is_active", "is_staff", "is_superuser", "delta")
         select "is_active", "is_staff", "is_superuser", count(*) from "auth_user" group by 1, 2, 3;`,
    );
    this.addSql(`create function "auth_user_tally_inserted"() returns trigger language plpgsql as $$
      begin
        insert into "auth_user_tally" ("is_active", "is_staff", "is_superuser", "delta")
          select "is_active", "is_staff", "is_superuser", count(*) from "new_rows" group by 1, 2, 3;
        return null;
      end $$;`);
    this.addSql(`create function "auth_user_tally_deleted"() returns trigger language plpgsql as $$
      begin
        insert into "auth_user_tally" ("is_active", "is_staff", "is_superuser", "delta")
          select "is_active", "is_staff", "is_superuser", -count(*) from "old_rows" group by 1, 2, 3;
        return null;
      end $$;`);
    this.addSql(`create function "auth_user_tally_updated"() returns trigger language plpgsql as $$
      begin
        insert into "auth_user_tally" ("is_active", "is_staff", "is_superuser", "delta")
          values (old."is_active", old."is_staff", old."is_superuser", -1), (new."is_active", new."is_staff", new."is_superuser", 1);
        return null;
      end $$;`);
    this.addSql(`create function "auth_user_tally_truncated"() returns trigger language plpgsql as $$
      begin
        delete from "auth_user_tally";
        return null;
      end $$;`);
    this.addSql(
      `create trigger "auth_user_tally_insert" after insert on "auth_user" referencing new table as "new_rows" for each statement execute function "auth_user_tally_inserted"();`,
    );
    this.addSql(
      `create trigger "auth_user_tally_delete" after delete on "auth_user" referencing old table as "old_rows" for each statement execute function "auth_user_tally_deleted"();`,
    );
    // Row by row, and only when a flag changes: most updates (last_login, names) cost nothing.
    this.addSql(
      `create trigger "auth_user_tally_update" after update of "is_active", "is_staff", "is_superuser" on "auth_user" for each row
         when (old."is_active" is distinct from new."is_active" or old."is_staff" is distinct from new."is_staff" or old."is_superuser" is distinct from new."is_superuser")
         execute function "auth_user_tally_updated"();`,
    );
    this.addSql(
      `create trigger "auth_user_tally_truncate" after truncate on "auth_user" for each statement execute function "auth_user_tally_truncated"();`,
    );

    // Versions come from a sequence, never reused: a version read inside a transaction that
    // changed the rules and then rolled back is never the number of another set of rules.
    this.addSql(`create sequence "sso_rule_set_version_seq";`);
    this.addSql(`create table "sso_rule_set_version" ("id" int primary key, "version" bigint not null);`);
    this.addSql(`insert into "sso_rule_set_version" ("id", "version") values (1, nextval('sso_rule_set_version_seq'));`);
    this.addSql(`create function "sso_rule_set_changed"() returns trigger language plpgsql as $$
      begin
        update "sso_rule_set_version" set "version" = nextval('sso_rule_set_version_seq') where "id" = 1;
        return null;
      end $$;`);
    this.addSql(
      `create trigger "sso_rule_set_change" after insert or update or delete or truncate on "sso_groupmappingrule" for each statement execute function "sso_rule_set_changed"();`,
    );
    // A match names its group (audit entries, groups added and removed): a rename is a new version.
    this.addSql(
      `create trigger "sso_rule_set_group_rename" after update of "name" on "auth_group" for each statement execute function "sso_rule_set_changed"();`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger "sso_rule_set_group_rename" on "auth_group";`);
    this.addSql(`drop trigger "sso_rule_set_change" on "sso_groupmappingrule";`);
    this.addSql(`drop function "sso_rule_set_changed"();`);
    this.addSql(`drop table if exists "sso_rule_set_version" cascade;`);
    this.addSql(`drop sequence "sso_rule_set_version_seq";`);
    for (const event of ['insert', 'delete', 'update', 'truncate']) this.addSql(`drop trigger "auth_user_tally_${event}" on "auth_user";`);
    for (const fn of ['inserted', 'deleted', 'updated', 'truncated']) this.addSql(`drop function "auth_user_tally_${fn}"();`);
    this.addSql(`drop table if exists "auth_user_tally" cascade;`);
    for (const column of ['username', 'email', 'first_name', 'last_name']) this.addSql(`drop index "auth_user_${column}_trgm_index";`);
    this.addSql(`drop index "auth_user_date_joined_id_index";`);
  }
}
