import { Entity, ManyToOne, OneToOne, Opt, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { SsoIdentity } from '../sso/sso-identity.entity';
import { User } from '../users/user.entity';

/**
 * A Gatehouse user as a SCIM `User` resource: the user, and the identity at the provisioning
 * token's issuer that SCIM's `externalId` names (`SsoIdentity.subject`), which is how the
 * person's single sign-on finds the same user. `id` is the resource's SCIM id: a UUID, unique
 * across every SCIM resource (RFC 7643 §3.1), telling nothing about Gatehouse's user ids.
 * Deleting the user or the identity deletes this.
 */
@Entity({ tableName: 'scim_user' })
export class ScimUser {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @OneToOne({ entity: () => User, owner: true, deleteRule: 'cascade', unique: 'scim_user_user_unique' })
  user!: Rel<User>;

  @ManyToOne({ entity: () => SsoIdentity, deleteRule: 'cascade', unique: 'scim_user_identity_unique' })
  identity!: Rel<SsoIdentity>;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  /** SCIM's `meta.lastModified`. */
  @Property({ type: 'datetime' })
  updatedAt: Date & Opt = new Date();
}
