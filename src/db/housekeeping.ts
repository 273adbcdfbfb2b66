import type { EntityManager } from '@mikro-orm/postgresql';
import { purgeSignInEvents } from '../audit/audit.service';
import type { Logger } from '../config/logger';
import { LoginThrottle } from '../sessions/login-throttle.entity';
import { purgeExpiredSessions, type SessionPolicy } from '../sessions/sessions.service';
import { purgeExpiredLogoutTokens } from '../sso/backchannel-logout';
import { purgeExpiredLoginTransactions } from '../sso/login-transactions';
import { compactUserTally } from '../users/users.queries';

/**
 * Deletes the throttle counters (failed password sign-ins, single sign-on attempts) whose window
 * has passed; rate-limiter-flexible stores `expire` in epoch milliseconds and ignores such rows.
 */
export async function purgeExpiredThrottleCounters(em: EntityManager): Promise<number> {
  return em.nativeDelete(LoginThrottle, { expire: { $lt: String(Date.now()) } });
}

export interface PurgeResult {
  sessions: number;
  loginTransactions: number;
  throttleCounters: number;
  logoutTokens: number;
  /** Sign-in and sign-out events of the admin log past AUDIT_SIGNIN_RETENTION_DAYS. */
  signInEvents: number;
}

/** AUDIT_SIGNIN_RETENTION_DAYS's default. */
export const DEFAULT_SIGNIN_RETENTION_DAYS = 90;

/**
 * Deletes the rows that only wait to expire — sessions past their idle or absolute timeout,
 * single sign-on login transactions past their 10 minutes, throttle counters past their
 * window, back-channel logout token IDs past the tokens' age — and returns how many of each. Live rows are untouched; every reader already ignores
 * expired ones, so this only keeps the tables small. Then the admin log's sign-in and sign-out
 * events older than `signInRetentionDays`, in batches of 1,000 rows (`purgeSignInEvents`); admin
 * changes are never deleted.
 */
export async function purgeExpiredRows(
  em: EntityManager,
  policy: SessionPolicy,
  signInRetentionDays = DEFAULT_SIGNIN_RETENTION_DAYS,
): Promise<PurgeResult> {
  return {
    sessions: await purgeExpiredSessions(em, policy),
    loginTransactions: await purgeExpiredLoginTransactions(em),
    throttleCounters: await purgeExpiredThrottleCounters(em),
    logoutTokens: await purgeExpiredLogoutTokens(em),
    signInEvents: await purgeSignInEvents(em, signInRetentionDays),
  };
}

export interface HousekeepingSchedule {
  /** Delay before the first purge after start. */
  firstRunMs: number;
  /** Delay between the end of one purge and the start of the next. */
  intervalMs: number;
}

export const DEFAULT_HOUSEKEEPING: HousekeepingSchedule = { firstRunMs: 30_000, intervalMs: 10 * 60_000 };

/**
 * Runs `purgeExpiredRows` shortly after start and then every `intervalMs`, on an unref'd timer
 * (it never keeps the process alive) and never two at once. A failed purge is logged and
 * retried at the next run. `stop()` clears the timer and waits for a purge in progress, so the
 * database can be closed right after. Every instance runs it; the deletes are idempotent.
 */
export function startHousekeeping(deps: {
  fork: () => EntityManager;
  policy: SessionPolicy;
  logger: Logger;
  schedule?: HousekeepingSchedule;
  /** AUDIT_SIGNIN_RETENTION_DAYS. */
  signInRetentionDays?: number;
}): { stop(): Promise<void> } {
  const { fork, policy, logger, signInRetentionDays } = deps;
  const schedule = deps.schedule ?? DEFAULT_HOUSEKEEPING;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;

  const run = async () => {
    try {
      const purged = await purgeExpiredRows(fork(), policy, signInRetentionDays);
      if (Object.values(purged).some((count) => count > 0)) logger.info({ purged }, 'housekeeping: purged expired rows');
    } catch (error) {
      logger.warn({ err: error }, 'housekeeping: purging expired rows failed; retrying at the next run');
    }
    try {
      // The user tally grows by a row per statement that adds or removes users: fold it.
      await compactUserTally(fork());
    } catch (error) {
      logger.warn({ err: error }, 'housekeeping: compacting the user tally failed; retrying at the next run');
    }
  };
  const scheduleRun = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      running = run().finally(() => {
        running = null;
        scheduleRun(schedule.intervalMs);
      });
    }, delay);
    timer.unref();
  };
  scheduleRun(schedule.firstRunMs);

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
