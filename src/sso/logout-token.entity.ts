import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * A back-channel logout token already acted upon, by its issuer and `jti`: a second delivery of
 * the same token is refused as a replay (OpenID Connect Back-Channel Logout 1.0 §2.6), by every
 * instance, until `expiresAt`, after which the token's age refuses it anyway and housekeeping
 * deletes the row.
 */
@Entity({ tableName: 'sso_logout_token' })
@Index({ name: 'sso_logout_token_expires_at_index', properties: ['expiresAt'] })
export class SeenLogoutToken {
  @PrimaryKey({ type: 'string', length: 255 })
  issuer!: string;

  @PrimaryKey({ type: 'string', length: 255 })
  jti!: string;

  @Property({ type: 'datetime' })
  expiresAt!: Date;
}
