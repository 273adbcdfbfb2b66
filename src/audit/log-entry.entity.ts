import { Entity, Enum, Index, ManyToOne, Opt, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { User } from '../users/user.entity';

/** Django admin's action flags. */
export enum ActionFlag {
  ADDITION = 1,
  CHANGE = 2,
  DELETION = 3,
}

/**
 * `admin.LogEntry`: the history of every change made through Gatehouse. `user` is null only
 * for events without a local account (e.g. a refused single sign-on attempt).
 */
@Entity({ tableName: 'admin_logentry' })
@Index({ name: 'admin_logentry_action_time_index', properties: ['actionTime'] })
@Index({ name: 'admin_logentry_object_index', properties: ['appLabel', 'model', 'objectId'] })
export class LogEntry {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'datetime' })
  actionTime: Date & Opt = new Date();

  @ManyToOne({ entity: () => User, nullable: true, deleteRule: 'set null' })
  user: Rel<User> | null = null;

  @Property({ type: 'string', length: 100 })
  appLabel!: string;

  @Property({ type: 'string', length: 100 })
  model!: string;

  @Property({ type: 'text', nullable: true })
  objectId: string | null = null;

  @Property({ type: 'string', length: 200 })
  objectRepr!: string;

  @Enum({ items: () => ActionFlag, type: 'smallint' })
  actionFlag!: ActionFlag;

  @Property({ type: 'json' })
  changeMessage: unknown[] & Opt = [];
}
