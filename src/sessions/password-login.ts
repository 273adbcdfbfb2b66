import type { EntityManager } from '@mikro-orm/postgresql';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { logSessionEvent } from '../audit/audit.service';
import { LogEvent } from '../audit/log-entry.entity';
import { GatehouseError } from '../errors';
import type { GatehouseMetrics } from '../metrics/metrics';
import { hashPassword, MAX_PASSWORD_LENGTH, needsRehash, verifyPassword } from '../users/passwords';
import { User } from '../users/user.entity';
import { AuthMethod, type Session } from './session.entity';
import { createSession, type SessionPolicy } from './sessions.service';

/** Password checks allowed per account within `LOGIN_THROTTLE_WINDOW` seconds. */
export const LOGIN_THROTTLE_POINTS = 5;
export const LOGIN_THROTTLE_WINDOW = 15 * 60;

// One message for every refusal, so the answer does not tell which part was wrong (OWASP ASVS 2.2).
const INVALID = 'invalid username or password';

export interface PasswordLoginInput {
  username: string;
  password: string;
}

/** The key an account's password checks are counted under: its username, case-folded. */
const throttleKey = (username: string) => username.trim().toLowerCase().slice(0, 200);

/**
 * Checks `password` against `stored` for the account `username`, counted by `throttle`: the
 * attempt is counted FIRST, in one atomic statement (rate-limiter-flexible's `consume`, an
 * upsert in PostgreSQL shared by every instance), and only an attempt within the limit is
 * verified. So N attempts at once, on any number of instances, make at most
 * LOGIN_THROTTLE_POINTS argon2 verifications per window — never "read the count, verify, then
 * count", which a burst slips through. A success gives its own point back (a success does not
 * wipe the failures before it: a guesser racing the account's owner gains nothing from it).
 *
 * A password over MAX_PASSWORD_LENGTH is refused before any hashing, counted like any failure.
 *
 * @returns 'ok', 'wrong', or the throttle's answer when over the limit (nothing was verified).
 */
export async function checkPasswordThrottled(
  throttle: RateLimiterAbstract,
  username: string,
  stored: string | null,
  password: string,
): Promise<'ok' | 'wrong' | RateLimiterRes> {
  const key = throttleKey(username);
  try {
    await throttle.consume(key);
  } catch (rejection) {
    // A RateLimiterRes is the limit; anything else is the store failing, and fails closed.
    if (rejection instanceof RateLimiterRes) return rejection;
    throw rejection;
  }
  if (password.length > MAX_PASSWORD_LENGTH || !(await verifyPassword(stored, password))) return 'wrong';
  await throttle.reward(key, 1);
  return 'ok';
}

/**
 * Signs a user in with a local password and starts a session.
 *
 * An unknown user, a wrong password, an inactive user and a user without a usable password
 * (single sign-on users) all get the same UNAUTHENTICATED message after one argon2
 * verification each, so neither the message nor the timing tells them apart. At most
 * LOGIN_THROTTLE_POINTS attempts per username (known or not) are verified within the window
 * (`checkPasswordThrottled`); the others are refused without checking the password. A
 * successful sign-in upgrades a hash made with weaker argon2 parameters than Gatehouse's
 * (`needsRehash`) and ends the session the client held (`meta.replacing`).
 *
 * Every attempt is in the admin log (`logPasswordSignIn`): an allowed one in the transaction that
 * starts the session, a refused one with its `PasswordRefusal` reason in a transaction of its own.
 */
export async function loginWithPassword(
  em: EntityManager,
  input: PasswordLoginInput,
  meta: { userAgent: string; ipAddress: string; replacing?: string | null },
  deps: { policy: SessionPolicy; throttle: RateLimiterAbstract; metrics?: Pick<GatehouseMetrics, 'signIn'> },
): Promise<{ token: string; session: Session }> {
  const user = await em.findOne(User, { username: input.username }, { populate: ['password'] });
  const stored = user?.password ?? null;
  const checked = await checkPasswordThrottled(deps.throttle, input.username, stored, input.password);
  const refusal: PasswordRefusal | null =
    checked instanceof RateLimiterRes
      ? 'throttled'
      : input.password.length > MAX_PASSWORD_LENGTH
        ? 'password_too_long'
        : !user
          ? 'unknown_user'
          : stored === null
            ? 'no_password'
            : checked !== 'ok'
              ? 'wrong_password'
              : !user.isActive
                ? 'inactive'
                : null;
  if (refusal) {
    // Written for every refusal alike (one INSERT), so the audit adds nothing to tell them apart by timing.
    await em.transactional(async (tx) => {
      logPasswordSignIn(tx, { user, username: input.username, refusal, ipAddress: meta.ipAddress });
    });
    deps.metrics?.signIn('password', 'refused', refusal);
    if (checked instanceof RateLimiterRes) throw throttled(checked);
    throw new GatehouseError('UNAUTHENTICATED', INVALID);
  }
  const rehashed = stored !== null && needsRehash(stored) ? await hashPassword(input.password) : null;
  const started = await em.transactional(async (tx) => {
    const signedIn = tx.merge(user!);
    signedIn.lastLogin = new Date();
    if (rehashed) signedIn.password = rehashed;
    logPasswordSignIn(tx, { user: signedIn, username: signedIn.username, refusal: null, ipAddress: meta.ipAddress });
    return createSession(tx, signedIn, { authMethod: AuthMethod.PASSWORD, ...meta }, deps.policy);
  });
  deps.metrics?.signIn('password', 'allowed');
  return started;
}

/**
 * Why a password sign-in was refused, as the admin log records it (the person is only ever told
 * "invalid username or password", or to wait).
 */
export type PasswordRefusal = 'unknown_user' | 'wrong_password' | 'no_password' | 'inactive' | 'password_too_long' | 'throttled';

/**
 * The admin log entry of a password sign-in (`auth.login`, event SIGN_IN): the outcome, the
 * reason code and the client's address — never the password. The actor is the person signed
 * in; nobody for a refusal, whose object is the account tried, if it exists.
 */
function logPasswordSignIn(
  tx: EntityManager,
  attempt: { user: User | null; username: string; refusal: PasswordRefusal | null; ipAddress: string },
): void {
  const { user, refusal } = attempt;
  logSessionEvent(tx, {
    event: LogEvent.SIGN_IN,
    actor: refusal ? null : user,
    appLabel: 'auth',
    model: 'login',
    objectId: user?.id ?? null,
    objectRepr: user?.username ?? attempt.username.slice(0, 150),
    message: [
      {
        password_login: {
          outcome: refusal ? 'refused' : 'allowed',
          reason: refusal ?? 'password',
          ipAddress: attempt.ipAddress.slice(0, 64),
        },
      },
    ],
  });
}

function throttled(state: RateLimiterRes): GatehouseError {
  const retryAfterSeconds = Math.max(1, Math.ceil(state.msBeforeNext / 1000));
  return new GatehouseError('UNAUTHENTICATED', `too many failed sign-ins for this account; try again in ${retryAfterSeconds} s`, {
    retryAfterSeconds,
  });
}
