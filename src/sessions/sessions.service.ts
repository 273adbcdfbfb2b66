import type { EntityManager } from '@mikro-orm/postgresql';
import { createHash, randomBytes } from 'node:crypto';
import type { User } from '../users/user.entity';
import { AuthMethod, Session } from './session.entity';

export interface SessionPolicy {
  /** Seconds without a request after which a session ends. */
  idleTimeout: number;
  /** Seconds after sign-in after which a session ends, however active. */
  absoluteTimeout: number;
}

export interface SessionMetadata {
  authMethod: AuthMethod;
  userAgent?: string;
  ipAddress?: string;
  idToken?: string | null;
}

/**
 * `lastSeenAt` is written at most this often, so reading a session is not a write per request —
 * and at least twice per idle timeout, so that a session in use never idles out (which a short
 * SESSION_IDLE_TIMEOUT, below a minute, would otherwise do).
 */
const TOUCH_INTERVAL_MS = 60_000;
const touchInterval = (policy: SessionPolicy) => Math.min(TOUCH_INTERVAL_MS, (policy.idleTimeout * 1000) / 2);

/** SHA-256 of a session token, the only form in which it is stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Starts a session for `user` and returns its token: 256 random bits, base64url. The token
 * is shown once; the database keeps only its digest. Flushes within `em`'s transaction, if any.
 */
export async function createSession(em: EntityManager, user: User, meta: SessionMetadata, policy: SessionPolicy): Promise<{ token: string; session: Session }> {
  const token = randomBytes(32).toString('base64url');
  const now = new Date();
  const session = em.create(Session, {
    tokenHash: hashToken(token),
    user,
    authMethod: meta.authMethod,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: new Date(now.getTime() + policy.absoluteTimeout * 1000),
    userAgent: (meta.userAgent ?? '').slice(0, 512),
    ipAddress: (meta.ipAddress ?? '').slice(0, 64),
    idToken: meta.idToken ?? null,
  });
  await em.flush();
  return { token, session };
}

/**
 * The live session behind `token` and its user, in one statement; null when the token is
 * unknown, the session has passed its idle or absolute timeout, or the user is inactive.
 */
export async function resolveSession(em: EntityManager, token: string, policy: SessionPolicy): Promise<Session | null> {
  if (token.length < 16 || token.length > 256) return null;
  const now = Date.now();
  const session = await em.findOne(
    Session,
    { tokenHash: hashToken(token), expiresAt: { $gt: new Date(now) }, lastSeenAt: { $gt: new Date(now - policy.idleTimeout * 1000) }, user: { isActive: true } },
    { populate: ['user'], strategy: 'joined' },
  );
  if (session && now - session.lastSeenAt.getTime() > touchInterval(policy)) {
    await em.nativeUpdate(Session, { id: session.id }, { lastSeenAt: new Date(now) });
    session.lastSeenAt = new Date(now);
  }
  return session;
}

/** The user's sessions that have not expired, newest first. */
export async function listSessions(em: EntityManager, userId: number, policy: SessionPolicy): Promise<Session[]> {
  const now = Date.now();
  return em.find(
    Session,
    { user: userId, expiresAt: { $gt: new Date(now) }, lastSeenAt: { $gt: new Date(now - policy.idleTimeout * 1000) } },
    { orderBy: { createdAt: 'desc' } },
  );
}

/** Ends one session; true when it existed (and, with `userId`, belonged to that user). */
export async function endSession(em: EntityManager, sessionId: string, userId?: number): Promise<boolean> {
  const where = userId === undefined ? { id: sessionId } : { id: sessionId, user: userId };
  return (await em.nativeDelete(Session, where)) > 0;
}

/** Ends every session of `userId` (deactivation, password change), optionally but one. */
export async function endUserSessions(em: EntityManager, userId: number, exceptSessionId?: string): Promise<number> {
  return em.nativeDelete(Session, exceptSessionId ? { user: userId, id: { $ne: exceptSessionId } } : { user: userId });
}

/** Deletes sessions past their absolute or idle timeout. */
export async function purgeExpiredSessions(em: EntityManager, policy: SessionPolicy): Promise<number> {
  const now = Date.now();
  return em.nativeDelete(Session, { $or: [{ expiresAt: { $lte: new Date(now) } }, { lastSeenAt: { $lte: new Date(now - policy.idleTimeout * 1000) } }] });
}
