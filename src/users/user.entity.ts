import { Collection, Entity, Index, ManyToMany, OneToMany, Opt, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { Permission } from '../permissions/permission.entity';
import { UserGroup } from './user-group.entity';

/**
 * `auth.User`, Django's fields. `password` holds an argon2id hash, or null for an unusable
 * password (users created by single sign-on); it is never a GraphQL field. `groups`,
 * `memberships` and `userPermissions` are resolved by `UserResolver` through the request's loaders.
 *
 * `simpleResolvers`: the plain fields are read straight off the object (no per-field
 * middleware chain), which matters on lists of hundreds of users.
 */
@ObjectType('User', {
  simpleResolvers: true,
  description: 'An account (auth.User): a person who signs in, with a password or through single sign-on.',
})
@Entity({ tableName: 'auth_user' })
// Search (`users(filter: { search })`, ILIKE '%term%' on four columns): a pg_trgm GIN index per
// column, which PostgreSQL combines with a BitmapOr. The orderings of `users` each have an index
// (USERNAME_*: the unique index; DATE_JOINED_*: date_joined, id), read forwards or backwards.
@Index({
  name: 'auth_user_username_trgm_index',
  expression: 'create index "auth_user_username_trgm_index" on "auth_user" using gin ("username" gin_trgm_ops)',
})
@Index({
  name: 'auth_user_email_trgm_index',
  expression: 'create index "auth_user_email_trgm_index" on "auth_user" using gin ("email" gin_trgm_ops)',
})
@Index({
  name: 'auth_user_first_name_trgm_index',
  expression: 'create index "auth_user_first_name_trgm_index" on "auth_user" using gin ("first_name" gin_trgm_ops)',
})
@Index({
  name: 'auth_user_last_name_trgm_index',
  expression: 'create index "auth_user_last_name_trgm_index" on "auth_user" using gin ("last_name" gin_trgm_ops)',
})
@Index({ name: 'auth_user_date_joined_id_index', properties: ['dateJoined', 'id'] })
export class User {
  @Field(() => ID, { description: 'The user’s id.' })
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Field(() => String, { description: 'The name the user signs in with: 1-150 characters, unique.' })
  @Property({ type: 'string', length: 150 })
  @Unique({ name: 'auth_user_username_unique' })
  username!: string;

  @Field(() => String, { description: 'The user’s e-mail address; "" when none.' })
  @Property({ type: 'string', length: 254 })
  email: string & Opt = '';

  @Field(() => String, { description: 'The user’s first name; "" when none.' })
  @Property({ type: 'string', length: 150 })
  firstName: string & Opt = '';

  @Field(() => String, { description: 'The user’s last name; "" when none.' })
  @Property({ type: 'string', length: 150 })
  lastName: string & Opt = '';

  @Property({ type: 'string', length: 255, nullable: true, hidden: true, lazy: true })
  password: string | null = null;

  @Field(() => Boolean, { description: 'An inactive user cannot sign in and has no permission.' })
  @Property({ type: 'boolean' })
  isActive: boolean & Opt = true;

  @Field(() => Boolean, { description: 'Django’s staff flag: set for every single sign-on user.' })
  @Property({ type: 'boolean' })
  isStaff: boolean & Opt = false;

  @Field(() => Boolean, { description: 'A superuser has every permission (while active).' })
  @Property({ type: 'boolean' })
  isSuperuser: boolean & Opt = false;

  @Field(() => Date, { description: 'When the account was created.' })
  @Property({ type: 'datetime' })
  dateJoined: Date & Opt = new Date();

  @Field(() => Date, { nullable: true, description: 'The user’s last sign-in; null if never.' })
  @Property({ type: 'datetime', nullable: true })
  lastLogin: Date | null = null;

  @OneToMany({ entity: () => UserGroup, mappedBy: 'user' })
  memberships = new Collection<UserGroup>(this);

  @ManyToMany({
    entity: () => Permission,
    pivotTable: 'auth_user_user_permissions',
    joinColumn: 'user_id',
    inverseJoinColumn: 'permission_id',
  })
  userPermissions = new Collection<Permission>(this);
}
