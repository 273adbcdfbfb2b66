import type { MikroORM } from '@mikro-orm/postgresql';
import { RateLimiterPostgres, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { LOGIN_THROTTLE_POINTS, LOGIN_THROTTLE_WINDOW } from './password-login';

/**
 * A counter of attempts per key in PostgreSQL, shared by every instance: at most `points` within
 * `duration` seconds. Every limiter of Gatehouse keeps its counters in `auth_login_throttle`
 * (created by the migrations), apart by `keyPrefix`; expired counters are deleted by the
 * housekeeping (`purgeExpiredThrottleCounters`), not by the limiter's own timer.
 */
export function createThrottle(orm: MikroORM, limits: { keyPrefix: string; points: number; duration: number }): RateLimiterAbstract {
  return new RateLimiterPostgres({
    storeClient: orm.em.getConnection().getKnex(),
    storeType: 'knex',
    tableName: 'auth_login_throttle',
    tableCreated: true,
    clearExpiredByTimeout: false,
    keyPrefix: limits.keyPrefix,
    points: limits.points,
    duration: limits.duration,
  });
}

/** Failed password sign-ins per account: LOGIN_THROTTLE_POINTS per LOGIN_THROTTLE_WINDOW. */
export function createLoginThrottle(orm: MikroORM): RateLimiterAbstract {
  return createThrottle(orm, { keyPrefix: 'login', points: LOGIN_THROTTLE_POINTS, duration: LOGIN_THROTTLE_WINDOW });
}
