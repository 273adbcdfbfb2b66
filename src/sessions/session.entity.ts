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

  /**
   * The provider's ID token of a single sign-on session, sent back as `id_token_hint` at logout;
   * the latest one after a refresh, whose `iss`, `sub`, `aud` and `azp` the next must repeat.
   */
  @Property({ type: 'text', nullable: true, lazy: true })
  idToken: string | null = null;

  /** The provider's session ID (`sid` of the ID token): what a back-channel logout token names. */
  @Property({ type: 'string', length: 255, nullable: true })
  @Index({ name: 'auth_session_provider_sid_index' })
  providerSid: string | null = null;

  /** The provider's refresh token, encrypted with SESSION_ENCRYPTION_KEY (a JWE); never stored in clear. */
  @Property({ type: 'text', nullable: true, lazy: true })
  refreshToken: string | null = null;

  /**
   * When the session is next refreshed at the provider (on its first request from then on);
   * null when it has no refresh token. Read with the session, so a session not due costs nothing.
   */
  @Property({ type: 'datetime', nullable: true })
  refreshDueAt: Date | null = null;

  /** Until when a refresh in progress (or a provider that just failed) holds off other refreshes of this session. */
  @Property({ type: 'datetime', nullable: true })
  refreshingUntil: Date | null = null;
}
