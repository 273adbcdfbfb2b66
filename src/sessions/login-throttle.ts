import type { MikroORM } from '@mikro-orm/postgresql';
import { RateLimiterPostgres, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { LOGIN_THROTTLE_POINTS, LOGIN_THROTTLE_WINDOW } from './password-login';

/**
 * Failed-sign-in counters in PostgreSQL (table `auth_login_throttle`, created by the
 * migrations), shared by every instance.
 */
export function createLoginThrottle(orm: MikroORM): RateLimiterAbstract {
  return new RateLimiterPostgres({
    storeClient: orm.em.getConnection().getKnex(),
    storeType: 'knex',
    tableName: 'auth_login_throttle',
    tableCreated: true,
    clearExpiredByTimeout: false,
    keyPrefix: 'login',
    points: LOGIN_THROTTLE_POINTS,
    duration: LOGIN_THROTTLE_WINDOW,
  });
}
