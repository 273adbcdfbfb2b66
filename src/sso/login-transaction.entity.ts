import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * One single sign-on attempt between `/oidc/authenticate/` and `/oidc/callback/`, keyed by its
 * `state`. Stored in the database so several tabs and several instances work; deleted when
 * used (usable once) and ignored after `expiresAt`.
 */
@Entity({ tableName: 'sso_login_transaction' })
export class LoginTransaction {
  @PrimaryKey({ type: 'string', length: 128 })
  state!: string;

  @Property({ type: 'string', length: 128 })
  nonce!: string;

  @Property({ type: 'string', length: 128 })
  codeVerifier!: string;

  /** Same-origin path to return to after sign-in. */
  @Property({ type: 'text' })
  next!: string;

  @Property({ type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime' })
  expiresAt!: Date;
}
