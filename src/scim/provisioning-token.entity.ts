import { Entity, ManyToOne, Opt, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { User } from '../users/user.entity';

/**
 * `sso.ProvisioningToken`: the bearer credential of an identity provider's SCIM client. It is
 * bound to one issuer: the users it provisions are identities at that issuer, and it reaches no
 * other user or group. The token itself is shown once, when it is created; only its SHA-256
 * digest is stored (as for session tokens), so a copy of this table provisions nothing.
 * A revoked token stays, so that what it did remains attributable.
 */
@Entity({ tableName: 'sso_provisioningtoken' })
export class ProvisioningToken {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  /** What the token is for ("Okta production"), for the admin's list. */
  @Property({ type: 'string', length: 200 })
  description!: string;

  /** The OpenID provider whose directory the token speaks for. */
  @Property({ type: 'string', length: 255 })
  issuer!: string;

  /** SHA-256 of the token, hex. */
  @Property({ type: 'string', length: 64, unique: 'sso_provisioningtoken_token_hash_unique' })
  tokenHash!: string;

  @ManyToOne({ entity: () => User, nullable: true, deleteRule: 'set null' })
  createdBy: Rel<User> | null = null;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  /** Written at most once a minute, so that using the token is not a write per request. */
  @Property({ type: 'datetime', nullable: true })
  lastUsedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt: Date | null = null;
}
