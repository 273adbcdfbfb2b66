import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * How many users there are, by (isActive, isStaff, isSuperuser), as rows of signed deltas that
 * PostgreSQL triggers on `auth_user` append in the same transaction as the change (migration
 * `Migration20261129204500_scale`): +n for the rows a statement inserts, −n for those it deletes,
 * −1/+1 when an update moves a user to other flags; a TRUNCATE empties it. The number of users
 * matching any combination of the three flags is the sum of the matching deltas — exact and
 * transactional (a transaction sees its own changes and the committed ones, like `count(*)`),
 * without reading `auth_user`. Appending instead of updating one counter row means concurrent
 * transactions creating users never wait on each other. `compactUserTally` folds the deltas
 * into one row per combination (housekeeping).
 */
@Entity({ tableName: 'auth_user_tally' })
export class UserTally {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'boolean' })
  isActive!: boolean;

  @Property({ type: 'boolean' })
  isStaff!: boolean;

  @Property({ type: 'boolean' })
  isSuperuser!: boolean;

  @Property({ type: 'bigint' })
  delta!: string;
}
