import type { EntityManager } from '@mikro-orm/postgresql';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { GatehouseError } from '../errors';
import { verifyPassword } from '../users/passwords';
import { User } from '../users/user.entity';
import { AuthMethod, type Session } from './session.entity';
import { createSession, type SessionPolicy } from './sessions.service';

/** Failed password sign-ins allowed per account within `LOGIN_THROTTLE_WINDOW` seconds. */
export const LOGIN_THROTTLE_POINTS = 5;
export const LOGIN_THROTTLE_WINDOW = 15 * 60;

// One message for every refusal, so the answer does not tell which part was wrong (OWASP ASVS 2.2).
const INVALID = 'invalid username or password';

export interface PasswordLoginInput {
  username: string;
  password: string;
}

/**
 * Signs a user in with a local password and starts a session.
 *
 * An unknown user, a wrong password, an inactive user and a user without a usable password
 * (single sign-on users) all get the same UNAUTHENTICATED message after one argon2
 * verification each, so neither the message nor the timing tells them apart. After
 * LOGIN_THROTTLE_POINTS failures for one username (known or not) within the window, further
 * attempts are refused without checking the password until the window passes.
 */
export async function loginWithPassword(
  em: EntityManager,
  input: PasswordLoginInput,
  meta: { userAgent: string; ipAddress: string },
  deps: { policy: SessionPolicy; throttle: RateLimiterAbstract },
): Promise<{ token: string; session: Session }> {
  const throttleKey = input.username.trim().toLowerCase().slice(0, 200);
  const state = await deps.throttle.get(throttleKey);
  if (state && state.consumedPoints >= LOGIN_THROTTLE_POINTS) throw throttled(state);

  const user = await em.findOne(User, { username: input.username }, { populate: ['password'] });
  const verified = await verifyPassword(user?.password ?? null, input.password);
  if (!user || !verified || !user.isActive) {
    try {
      await deps.throttle.consume(throttleKey);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
    }
    throw new GatehouseError('UNAUTHENTICATED', INVALID);
  }
  await deps.throttle.delete(throttleKey);
  return em.transactional(async (tx) => {
    const signedIn = tx.merge(user);
    signedIn.lastLogin = new Date();
    return createSession(tx, signedIn, { authMethod: AuthMethod.PASSWORD, ...meta }, deps.policy);
  });
}

function throttled(state: RateLimiterRes): GatehouseError {
  const retryAfterSeconds = Math.max(1, Math.ceil(state.msBeforeNext / 1000));
  return new GatehouseError('UNAUTHENTICATED', `too many failed sign-ins for this account; try again in ${retryAfterSeconds} s`, {
    retryAfterSeconds,
  });
}
