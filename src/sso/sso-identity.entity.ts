import { Entity, ManyToOne, Opt, PrimaryKey, Property, Unique, type Rel } from '@mikro-orm/core';
import { User } from '../users/user.entity';

/**
 * A user's identity at an OpenID provider (issuer + subject): how a returning user is found.
 * `lastClaims` keeps the claims presented at the last sign-in (never the tokens), so a
 * proposed mapping rule can be previewed against existing users.
 */
@Entity({ tableName: 'sso_identity' })
@Unique({ name: 'sso_identity_issuer_subject_unique', properties: ['issuer', 'subject'] })
export class SsoIdentity {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  user!: Rel<User>;

  @Property({ type: 'string', length: 255 })
  issuer!: string;

  @Property({ type: 'string', length: 255 })
  subject!: string;

  @Property({ type: 'json' })
  lastClaims: Record<string, unknown> & Opt = {};

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime' })
  lastLoginAt: Date & Opt = new Date();
}
