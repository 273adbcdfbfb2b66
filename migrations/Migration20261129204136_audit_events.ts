import { Migration } from '@mikro-orm/migrations';

export class Migration20261129204136_audit_events extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "admin_logentry" add column "event" text check ("event" in ('sign_in', 'sign_out')) null;`);
    // The single sign-on attempts recorded so far are sign-in events; refreshes that changed groups stay admin history.
    this.addSql(
      `update "admin_logentry" set "event" = 'sign_in' where "app_label" = 'sso' and "model" = 'login' and "change_message" -> 0 -> 'sso_login' ->> 'via' = 'login';`,
    );
    this.addSql(
      `create index "admin_logentry_event_action_time_index" on "admin_logentry" ("event", "action_time") where "event" is not null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "admin_logentry_event_action_time_index";`);
    this.addSql(`alter table "admin_logentry" drop column "event";`);
  }
}
