import { Migration } from '@mikro-orm/migrations';

export class Migration20261127105141_initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "auth_group" ("id" serial primary key, "name" varchar(150) not null);`);
    this.addSql(`alter table "auth_group" add constraint "auth_group_name_unique" unique ("name");`);

    this.addSql(
      `create table "sso_groupmappingrule" ("id" serial primary key, "claim" varchar(255) null, "match_type" text check ("match_type" in ('EXACT', 'GLOB', 'REGEX')) not null default 'EXACT', "pattern" varchar(255) not null, "case_sensitive" boolean not null default true, "group_id" int not null, "enabled" boolean not null default true, "description" text not null default '', "created_at" timestamptz not null, "updated_at" timestamptz not null);`,
    );

    this.addSql(
      `create table "core_language" ("id" uuid not null, "language_tag" varchar(20) not null, "language" varchar(50) null, "accent_or_dialect" varchar(50) null, "family" varchar(50) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "core_language_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "core_language" add constraint "core_language_language_tag_unique" unique ("language_tag");`);

    this.addSql(
      `create table "auth_login_throttle" ("key" varchar(255) not null, "points" int not null default 0, "expire" bigint null, constraint "auth_login_throttle_pkey" primary key ("key"));`,
    );

    this.addSql(
      `create table "sso_login_transaction" ("state" varchar(128) not null, "nonce" varchar(128) not null, "code_verifier" varchar(128) not null, "next" text not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, constraint "sso_login_transaction_pkey" primary key ("state"));`,
    );

    this.addSql(
      `create table "auth_permission" ("id" serial primary key, "app_label" varchar(100) not null, "model" varchar(100) not null, "codename" varchar(100) not null, "name" varchar(255) not null);`,
    );
    this.addSql(
      `alter table "auth_permission" add constraint "auth_permission_app_label_codename_unique" unique ("app_label", "codename");`,
    );

    this.addSql(
      `create table "auth_group_permissions" ("group_id" int not null, "permission_id" int not null, constraint "auth_group_permissions_pkey" primary key ("group_id", "permission_id"));`,
    );

    this.addSql(
      `create table "core_tweet" ("id" uuid not null, "screen_name" varchar(16) not null, "when_tweet_was_created" timestamptz not null, "tweet_id" bigint not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "core_tweet_pkey" primary key ("id"), constraint core_tweet_tweet_id_positive_check check (tweet_id > 0));`,
    );

    this.addSql(
      `create table "auth_user" ("id" serial primary key, "username" varchar(150) not null, "email" varchar(254) not null default '', "first_name" varchar(150) not null default '', "last_name" varchar(150) not null default '', "password" varchar(255) null, "is_active" boolean not null default true, "is_staff" boolean not null default false, "is_superuser" boolean not null default false, "date_joined" timestamptz not null, "last_login" timestamptz null);`,
    );
    this.addSql(`alter table "auth_user" add constraint "auth_user_username_unique" unique ("username");`);

    this.addSql(
      `create table "sso_identity" ("id" serial primary key, "user_id" int not null, "issuer" varchar(255) not null, "subject" varchar(255) not null, "last_claims" jsonb not null, "created_at" timestamptz not null, "last_login_at" timestamptz not null);`,
    );
    this.addSql(`alter table "sso_identity" add constraint "sso_identity_issuer_subject_unique" unique ("issuer", "subject");`);

    this.addSql(
      `create table "auth_session" ("id" uuid not null, "token_hash" varchar(64) not null, "user_id" int not null, "auth_method" text check ("auth_method" in ('password', 'oidc')) not null, "created_at" timestamptz not null, "last_seen_at" timestamptz not null, "expires_at" timestamptz not null, "user_agent" varchar(512) not null default '', "ip_address" varchar(64) not null default '', "id_token" text null, constraint "auth_session_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "auth_session" add constraint "auth_session_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "auth_session_user_id_index" on "auth_session" ("user_id");`);

    this.addSql(
      `create table "admin_logentry" ("id" serial primary key, "action_time" timestamptz not null, "user_id" int null, "app_label" varchar(100) not null, "model" varchar(100) not null, "object_id" text null, "object_repr" varchar(200) not null, "action_flag" smallint not null, "change_message" jsonb not null);`,
    );
    this.addSql(`create index "admin_logentry_object_index" on "admin_logentry" ("app_label", "model", "object_id");`);
    this.addSql(`create index "admin_logentry_action_time_index" on "admin_logentry" ("action_time");`);

    this.addSql(
      `create table "auth_user_user_permissions" ("user_id" int not null, "permission_id" int not null, constraint "auth_user_user_permissions_pkey" primary key ("user_id", "permission_id"));`,
    );

    this.addSql(
      `create table "auth_user_groups" ("id" serial primary key, "user_id" int not null, "group_id" int not null, "source" text check ("source" in ('admin', 'sso_rule')) not null default 'admin', "rule_id" int null, "created_at" timestamptz not null, constraint auth_user_groups_source_rule_check check ((source = 'admin') = (rule_id is null)));`,
    );
    this.addSql(`create index "auth_user_groups_group_id_index" on "auth_user_groups" ("group_id");`);
    this.addSql(
      `create unique index "auth_user_groups_user_group_admin_unique" on "auth_user_groups" ("user_id", "group_id") where "rule_id" is null;`,
    );
    this.addSql(
      `alter table "auth_user_groups" add constraint "auth_user_groups_user_group_rule_unique" unique ("user_id", "group_id", "rule_id");`,
    );

    this.addSql(
      `alter table "sso_groupmappingrule" add constraint "sso_groupmappingrule_group_id_foreign" foreign key ("group_id") references "auth_group" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "auth_group_permissions" add constraint "auth_group_permissions_group_id_foreign" foreign key ("group_id") references "auth_group" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "auth_group_permissions" add constraint "auth_group_permissions_permission_id_foreign" foreign key ("permission_id") references "auth_permission" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "sso_identity" add constraint "sso_identity_user_id_foreign" foreign key ("user_id") references "auth_user" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "auth_session" add constraint "auth_session_user_id_foreign" foreign key ("user_id") references "auth_user" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "admin_logentry" add constraint "admin_logentry_user_id_foreign" foreign key ("user_id") references "auth_user" ("id") on update cascade on delete set null;`,
    );

    this.addSql(
      `alter table "auth_user_user_permissions" add constraint "auth_user_user_permissions_user_id_foreign" foreign key ("user_id") references "auth_user" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "auth_user_user_permissions" add constraint "auth_user_user_permissions_permission_id_foreign" foreign key ("permission_id") references "auth_permission" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "auth_user_groups" add constraint "auth_user_groups_user_id_foreign" foreign key ("user_id") references "auth_user" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "auth_user_groups" add constraint "auth_user_groups_group_id_foreign" foreign key ("group_id") references "auth_group" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "auth_user_groups" add constraint "auth_user_groups_rule_id_foreign" foreign key ("rule_id") references "sso_groupmappingrule" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "sso_groupmappingrule" drop constraint "sso_groupmappingrule_group_id_foreign";`);

    this.addSql(`alter table "auth_group_permissions" drop constraint "auth_group_permissions_group_id_foreign";`);

    this.addSql(`alter table "auth_user_groups" drop constraint "auth_user_groups_group_id_foreign";`);

    this.addSql(`alter table "auth_user_groups" drop constraint "auth_user_groups_rule_id_foreign";`);

    this.addSql(`alter table "auth_group_permissions" drop constraint "auth_group_permissions_permission_id_foreign";`);

    this.addSql(`alter table "auth_user_user_permissions" drop constraint "auth_user_user_permissions_permission_id_foreign";`);

    this.addSql(`alter table "sso_identity" drop constraint "sso_identity_user_id_foreign";`);

    this.addSql(`alter table "auth_session" drop constraint "auth_session_user_id_foreign";`);

    this.addSql(`alter table "admin_logentry" drop constraint "admin_logentry_user_id_foreign";`);

    this.addSql(`alter table "auth_user_user_permissions" drop constraint "auth_user_user_permissions_user_id_foreign";`);

    this.addSql(`alter table "auth_user_groups" drop constraint "auth_user_groups_user_id_foreign";`);

    this.addSql(`drop table if exists "auth_group" cascade;`);

    this.addSql(`drop table if exists "sso_groupmappingrule" cascade;`);

    this.addSql(`drop table if exists "core_language" cascade;`);

    this.addSql(`drop table if exists "auth_login_throttle" cascade;`);

    this.addSql(`drop table if exists "sso_login_transaction" cascade;`);

    this.addSql(`drop table if exists "auth_permission" cascade;`);

    this.addSql(`drop table if exists "auth_group_permissions" cascade;`);

    this.addSql(`drop table if exists "core_tweet" cascade;`);

    this.addSql(`drop table if exists "auth_user" cascade;`);

    this.addSql(`drop table if exists "sso_identity" cascade;`);

    this.addSql(`drop table if exists "auth_session" cascade;`);

    this.addSql(`drop table if exists "admin_logentry" cascade;`);

    this.addSql(`drop table if exists "auth_user_user_permissions" cascade;`);

    this.addSql(`drop table if exists "auth_user_groups" cascade;`);
  }
}
