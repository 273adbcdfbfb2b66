import { Collection, Entity, ManyToMany, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { Permission } from '../permissions/permission.entity';

/**
 * `auth.Group`: a named set of permissions that users are members of. Its `permissions` and
 * `users` GraphQL fields are resolved by `GroupResolver` through the request's loaders.
 */
@ObjectType('Group', { simpleResolvers: true, description: 'A group of users (auth.Group): its permissions are its members’.' })
@Entity({ tableName: 'auth_group' })
export class Group {
  @Field(() => ID, { description: 'The group’s id.' })
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Field(() => String, { description: 'The group’s name: 1-150 characters, unique.' })
  @Property({ type: 'string', length: 150 })
  @Unique({ name: 'auth_group_name_unique' })
  name!: string;

  @ManyToMany({
    entity: () => Permission,
    pivotTable: 'auth_group_permissions',
    joinColumn: 'group_id',
    inverseJoinColumn: 'permission_id',
  })
  permissions = new Collection<Permission>(this);
}
