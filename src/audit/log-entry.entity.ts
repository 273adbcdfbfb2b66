import { Entity, Enum, Index, ManyToOne, Opt, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { GraphQLJSON } from 'graphql-scalars';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { User } from '../users/user.entity';

/** Django admin's action flags. */
export enum ActionFlag {
  ADDITION = 1,
  CHANGE = 2,
  DELETION = 3,
}

registerEnumType(ActionFlag, {
  name: 'ActionFlag',
  description: 'What a log entry records: Django admin’s action flags.',
  valuesConfig: {
    ADDITION: { description: 'The object was created.' },
    CHANGE: { description: 'The object was changed; the change message names the fields.' },
    DELETION: { description: 'The object was deleted.' },
  },
});

/**
 * The events of signing in and out, which Django's admin log does not have: they are kept
 * AUDIT_SIGNIN_RETENTION_DAYS, while admin changes (no event) are kept forever.
 */
export enum LogEvent {
  /** A sign-in, allowed or refused: with a password (`auth.login`) or single sign-on (`sso.login`). */
  SIGN_IN = 'sign_in',
  /** A sign-out, or a person ending sessions of their own (`auth.session`). */
  SIGN_OUT = 'sign_out',
}

registerEnumType(LogEvent, {
  name: 'LogEvent',
  description: 'A sign-in or sign-out event; admin changes have none. Events are deleted after AUDIT_SIGNIN_RETENTION_DAYS.',
  valuesConfig: {
    SIGN_IN: { description: 'A sign-in, allowed or refused, with a password or through single sign-on.' },
    SIGN_OUT: { description: 'A sign-out, or sessions ended by their owner or an admin.' },
  },
});

/**
 * `admin.LogEntry`: the history of every change made through Gatehouse. `user` is null only
 * for events without a local account (e.g. a refused single sign-on attempt), or once the
 * actor's account is deleted.
 */
@ObjectType('LogEntry', { description: 'One change in the admin log (admin.LogEntry).' })
@Entity({ tableName: 'admin_logentry' })
@Index({ name: 'admin_logentry_action_time_index', properties: ['actionTime'] })
@Index({ name: 'admin_logentry_object_index', properties: ['appLabel', 'model', 'objectId'] })
// Retention deletes the oldest events first, a batch at a time; admin changes are not in it.
@Index({
  name: 'admin_logentry_event_action_time_index',
  expression:
    'create index "admin_logentry_event_action_time_index" on "admin_logentry" ("event", "action_time") where "event" is not null',
})
export class LogEntry {
  @Field(() => ID, { description: 'The entry’s id.' })
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Field(() => Date, { description: 'When the change was made.' })
  @Property({ type: 'datetime' })
  actionTime: Date & Opt = new Date();

  // Not a @Field: LogEntryResolver serves it, guarded by auth.view_user, beside the unguarded userId and username.
  @ManyToOne({ entity: () => User, nullable: true, deleteRule: 'set null' })
  user: Rel<User> | null = null;

  @Field(() => String, { description: 'The app of the changed object’s model, e.g. core.' })
  @Property({ type: 'string', length: 100 })
  appLabel!: string;

  @Field(() => String, { description: 'The changed object’s model, e.g. tweet.' })
  @Property({ type: 'string', length: 100 })
  model!: string;

  @Field(() => String, {
    nullable: true,
    description: 'The changed object’s database key, as Django admin’s history keeps it (not a global id).',
  })
  @Property({ type: 'text', nullable: true })
  objectId: string | null = null;

  @Field(() => String, { description: 'How the object was named when the change was made.' })
  @Property({ type: 'string', length: 200 })
  objectRepr!: string;

  @Field(() => ActionFlag, { description: 'Whether the object was added, changed or deleted.' })
  @Enum({ items: () => ActionFlag, type: 'smallint' })
  actionFlag!: ActionFlag;

  @Field(() => LogEvent, { nullable: true, description: 'The sign-in or sign-out this entry records; null for an admin change.' })
  @Enum({ items: () => LogEvent, nullable: true })
  event: LogEvent | null = null;

  @Field(() => GraphQLJSON, { description: 'Django admin’s JSON change message, e.g. [{"changed": {"fields": ["screenName"]}}].' })
  @Property({ type: 'json' })
  changeMessage: unknown[] & Opt = [];
}
