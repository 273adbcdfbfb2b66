import { Entity, Enum, Index, ManyToOne, Opt, PrimaryKey, Property, type Rel } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { User } from '../users/user.entity';

/** How a session was signed in. */
export enum AuthMethod {
  PASSWORD = 'password',
  OIDC = 'oidc',
}

/**
 * A server-side session. The client holds an opaque random token; only its SHA-256 digest is
 * stored, so a copy of this table signs nobody in.
 */
@Entity({ tableName: 'auth_session' })
@Index({ name: 'auth_session_user_id_index', properties: ['user'] })
export class Session {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  /** SHA-256 of the token, hex. */
  @Property({ type: 'string', length: 64, unique: 'auth_session_token_hash_unique' })
  tokenHash!: string;

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  user!: Rel<User>;

  @Enum({ items: () => AuthMethod })
  authMethod!: AuthMethod;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime' })
  lastSeenAt: Date & Opt = new Date();

  /** The absolute end of the session, whatever its activity. */
  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'string', length: 512 })
  userAgent: string & Opt = '';

  @Property({ type: 'string', length: 64 })
  ipAddress: string & Opt = '';

  /** The provider's ID token of a single sign-on session, sent back as `id_token_hint` at logout. */
  @Property({ type: 'text', nullable: true, lazy: true })
  idToken: string | null = null;
}
