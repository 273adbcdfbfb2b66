import { Migration } from '@mikro-orm/migrations';

export class Migration20261129191514_login_transaction_client extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "sso_login_transaction" add column "client_key" varchar(64) not null default 'unknown';`);
    this.addSql(
      `create index "sso_login_transaction_client_key_created_at_index" on "sso_login_transaction" ("client_key", "created_at");`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "sso_login_transaction_client_key_created_at_index";`);
    this.addSql(`alter table "sso_login_transaction" drop column "client_key";`);
  }
}
