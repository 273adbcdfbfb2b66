import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Failed-login counters, in the table layout rate-limiter-flexible's PostgreSQL store uses, so
 * every instance sees the same counts.
 */
@Entity({ tableName: 'auth_login_throttle' })
export class LoginThrottle {
  @PrimaryKey({ type: 'string', length: 255 })
  key!: string;

  @Property({ type: 'integer', default: 0 })
  points!: number;

  @Property({ type: 'bigint', nullable: true })
  expire!: string | null;
}
