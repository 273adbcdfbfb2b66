import { Entity, Index, Opt, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * One single sign-on attempt between `/oidc/authenticate/` and `/oidc/callback/`, keyed by its
 * `state`. Stored in the database so several tabs and several instances work; deleted when
 * used (usable once) and ignored after `expiresAt`.
 */
@Entity({ tableName: 'sso_login_transaction' })
@Index({ name: 'sso_login_transaction_client_key_created_at_index', properties: ['clientKey', 'createdAt'] })
export class LoginTransaction {
  @PrimaryKey({ type: 'string', length: 128 })
  state!: string;

  @Property({ type: 'string', length: 128 })
  nonce!: string;

  @Property({ type: 'string', length: 128 })
  codeVerifier!: string;

  /** The client address that started it (`clientKey`): at most MAX_PENDING_PER_CLIENT are kept per key. */
  @Property({ type: 'string', length: 64, default: 'unknown' })
  clientKey: string & Opt = 'unknown';

  /** Same-origin path to return to after sign-in. */
  @Property({ type: 'text' })
  next!: string;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime' })
  expiresAt!: Date;
}
