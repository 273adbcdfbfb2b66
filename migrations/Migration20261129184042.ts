import { Migration } from '@mikro-orm/migrations';

export class Migration20261129184042 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "scim_group" ("id" uuid not null, "issuer" varchar(255) not null, "display_name" varchar(255) not null, "external_id" varchar(255) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "scim_group_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "scim_group" add constraint "scim_group_issuer_display_name_unique" unique ("issuer", "display_name");`);

    this.addSql(
      `create table "scim_user" ("id" uuid not null, "user_id" int not null, "identity_id" int not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "scim_user_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "scim_user" add constraint "scim_user_user_unique" unique ("user_id");`);
    this.addSql(`alter table "scim_user" add constraint "scim_user_identity_unique" unique ("identity_id");`);

    this.addSql(`create table "scim_group_members" ("id" serial primary key, "group_id" uuid not null, "member_id" uuid not null);`);
    this.addSql(`create index "scim_group_members_member_id_index" on "scim_group_members" ("member_id");`);
    this.addSql(
      `alter table "scim_group_members" add constraint "scim_group_members_group_member_unique" unique ("group_id", "member_id");`,
    );

    this.addSql(
      `create table "sso_provisioningtoken" ("id" serial primary key, "description" varchar(200) not null, "issuer" varchar(255) not null, "token_hash" varchar(64) not null, "created_by_id" int null, "created_at" timestamptz not null, "last_used_at" timestamptz null, "revoked_at" timestamptz null);`,
    );
    this.addSql(`alter table "sso_provisioningtoken" add constraint "sso_provisioningtoken_token_hash_unique" unique ("token_hash");`);

    this.addSql(
      `alter table "scim_user" add constraint "scim_user_user_id_foreign" foreign key ("user_id") references "auth_user" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "scim_user" add constraint "scim_user_identity_id_foreign" foreign key ("identity_id") references "sso_identity" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "scim_group_members" add constraint "scim_group_members_group_id_foreign" foreign key ("group_id") references "scim_group" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "scim_group_members" add constraint "scim_group_members_member_id_foreign" foreign key ("member_id") references "scim_user" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "sso_provisioningtoken" add constraint "sso_provisioningtoken_created_by_id_foreign" foreign key ("created_by_id") references "auth_user" ("id") on update cascade on delete set null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "scim_group_members" drop constraint "scim_group_members_group_id_foreign";`);

    this.addSql(`alter table "scim_group_members" drop constraint "scim_group_members_member_id_foreign";`);

    this.addSql(`drop table if exists "scim_group" cascade;`);

    this.addSql(`drop table if exists "scim_user" cascade;`);

    this.addSql(`drop table if exists "scim_group_members" cascade;`);

    this.addSql(`drop table if exists "sso_provisioningtoken" cascade;`);
  }
}
