import { Migration } from '@mikro-orm/migrations';

export class Migration20261129191241_identity_lifecycle extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "sso_logout_token" ("issuer" varchar(255) not null, "jti" varchar(255) not null, "expires_at" timestamptz not null, constraint "sso_logout_token_pkey" primary key ("issuer", "jti"));`,
    );
    this.addSql(`create index "sso_logout_token_expires_at_index" on "sso_logout_token" ("expires_at");`);

    this.addSql(
      `alter table "auth_session" add column "provider_sid" varchar(255) null, add column "refresh_token" text null, add column "refresh_due_at" timestamptz null, add column "refreshing_until" timestamptz null;`,
    );
    this.addSql(`create index "auth_session_provider_sid_index" on "auth_session" ("provider_sid");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "sso_logout_token" cascade;`);

    this.addSql(`drop index "auth_session_provider_sid_index";`);
    this.addSql(
      `alter table "auth_session" drop column "provider_sid", drop column "refresh_token", drop column "refresh_due_at", drop column "refreshing_until";`,
    );
  }
}
