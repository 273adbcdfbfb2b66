import { Field, ID, ObjectType } from 'type-graphql';
import { Entity, PrimaryKey, Property, Unique } from '@mikro-orm/core';

/** `auth.Permission`: one row per permission the model registry derives (see `sync.ts`). */
@ObjectType('Permission', { description: 'A permission (auth.Permission): one action on one model, e.g. core.view_tweet.' })
@Entity({ tableName: 'auth_permission' })
@Unique({ name: 'auth_permission_app_label_codename_unique', properties: ['appLabel', 'codename'] })
export class Permission {
  @Field(() => ID, { description: 'The permission’s id.' })
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Field({ description: 'The app of its model, e.g. core.' })
  @Property({ type: 'string', length: 100 })
  appLabel!: string;

  @Field({ description: 'Its model, e.g. tweet.' })
  @Property({ type: 'string', length: 100 })
  model!: string;

  @Field({ description: 'The action and the model, e.g. view_tweet.' })
  @Property({ type: 'string', length: 100 })
  codename!: string;

  @Field({ description: 'Its Django name, e.g. Can view tweet.' })
  @Property({ type: 'string', length: 255 })
  name!: string;

  /** `app_label.codename`, the form every API speaks. */
  @Field({ description: 'app_label.codename, e.g. core.view_tweet' })
  get fullName(): string {
    return `${this.appLabel}.${this.codename}`;
  }
}
