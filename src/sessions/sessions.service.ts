import { ReferenceKind, type EntityMetadata, type MetadataStorage } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { createHash, randomBytes } from 'node:crypto';
import { logSessionEvent } from '../audit/audit.service';
import { ActionFlag, LogEvent } from '../audit/log-entry.entity';
import { executePrepared, preparedStatement, type PreparedStatement } from '../db/prepared';
import { dateFromRow } from '../db/snapshots';
import { grantedPermissionsSql } from '../permissions/has-perm';
import { User } from '../users/user.entity';
import { userFromRow, type UserRow } from '../users/users.queries';
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
  /** The provider's session ID (`sid`), for back-channel logout. */
  providerSid?: string | null;
  /** The provider's refresh token, already sealed (`TokenCipher`), and when to use it first. */
  refresh?: { sealedToken: string; dueAt: Date } | null;
  /**
   * The session token the client held until now, if any (its cookie or bearer token): signing
   * in ends that session, whoever it belonged to, so signing in as someone else in the same
   * browser never leaves the previous account signed in.
   */
  replacing?: string | null;
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
 * is shown once; the database keeps only its digest. The session the client held
 * (`meta.replacing`) ends in the same transaction. Flushes within `em`'s transaction, if any.
 */
export async function createSession(
  em: EntityManager,
  user: User,
  meta: SessionMetadata,
  policy: SessionPolicy,
): Promise<{ token: string; session: Session }> {
  if (meta.replacing) await em.nativeDelete(Session, { tokenHash: hashToken(meta.replacing) });
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
    providerSid: meta.providerSid?.slice(0, 255) ?? null,
    refreshToken: meta.refresh?.sealedToken ?? null,
    refreshDueAt: meta.refresh?.dueAt ?? null,
  });
  await em.flush();
  return { token, session };
}

/** A live session, resolved with what every request needs to know about its user. */
export interface ResolvedSession {
  /**
   * Managed by the request's EntityManager, its `user` loaded (as `em.findOne` would load them).
   * Mapped into the EntityManager on first read: a request that only reads (most) never pays
   * for the entities' identity map and change tracking.
   */
  readonly session: Session;
  /** The session's user as read: the managed `session.user` once mapped, else a read-only snapshot of the same row. */
  readonly viewer: User;
  /** The user's id (without mapping anything). */
  readonly userId: number;
  /** When the session is due for a refresh at the provider, and until when one is claimed (see `refreshNeed`). */
  readonly refreshDueAt: Date | null;
  readonly refreshingUntil: Date | null;
  /**
   * The user's granted permissions, direct ∪ groups, as `app_label.codename`, for
   * `PermissionBackend.prime`; null for a superuser, whose permissions are the registry's.
   */
  readonly permissions: readonly string[] | null;
}

/**
 * The live session behind `token` and its user; null when the token is unknown, the session
 * has passed its idle or absolute timeout, or the user is inactive.
 */
export async function resolveSession(em: EntityManager, token: string, policy: SessionPolicy): Promise<Session | null> {
  return (await resolveSessionWithPermissions(em, token, policy))?.session ?? null;
}

/**
 * `resolveSession`, and the user's permissions too, in one statement. The session and user are
 * mapped from the row into `em` (its identity map, change tracking) only when `session` is first
 * read, not through the query builder and joined-result hydration, which cost more than the
 * statement itself; the lazy `Session.idToken` is left unloaded, to be populated where it is needed.
 */
export async function resolveSessionWithPermissions(
  em: EntityManager,
  token: string,
  policy: SessionPolicy,
): Promise<ResolvedSession | null> {
  if (token.length < 16 || token.length > 256) return null;
  const now = Date.now();
  const lookup = sessionLookup(em);
  const [row] = await executePrepared<Record<string, unknown>>(em, lookup.statement, [
    hashToken(token),
    new Date(now),
    new Date(now - policy.idleTimeout * 1000),
  ]);
  if (!row) return null;
  const sessionRow = pick(row, lookup.session);
  const platform = em.getPlatform();
  if (now - (platform.parseDate(sessionRow.last_seen_at as string) as Date).getTime() > touchInterval(policy)) {
    await em.nativeUpdate(Session, { id: sessionRow.id as string }, { lastSeenAt: new Date(now) });
    // Mapped as written, so that a flush later in the request has nothing to write back.
    sessionRow.last_seen_at = new Date(now);
  }
  return new LookedUpSession(em, sessionRow, pick(row, lookup.user), (row.permissions as string[] | null) ?? null);
}

class LookedUpSession implements ResolvedSession {
  private managed: Session | null = null;
  private snapshot: User | null = null;

  constructor(
    private readonly em: EntityManager,
    private readonly sessionRow: Record<string, unknown>,
    private readonly userRow: Record<string, unknown>,
    readonly permissions: readonly string[] | null,
  ) {}

  get session(): Session {
    if (!this.managed) {
      // The user first, so that the session's `user_id` resolves to it in the identity map.
      this.em.map(User, this.userRow);
      this.managed = this.em.map(Session, this.sessionRow);
    }
    return this.managed;
  }

  get viewer(): User {
    if (this.managed) return this.managed.user;
    if (!this.snapshot) {
      // The snapshot turns the driver's date-time text into Dates, as for every user row.
      this.snapshot = userFromRow(this.userRow as unknown as UserRow);
    }
    return this.snapshot;
  }

  get userId(): number {
    return this.userRow.id as number;
  }

  get refreshDueAt(): Date | null {
    return dateFromRow(this.sessionRow.refresh_due_at);
  }

  get refreshingUntil(): Date | null {
    return dateFromRow(this.sessionRow.refreshing_until);
  }
}

/** A column of the session lookup: `table.name`, selected as `alias`. */
interface Column {
  readonly table: string;
  readonly name: string;
  readonly alias: string;
}

interface SessionLookup {
  /** Run on every request: prepared (see db/prepared.ts). */
  readonly statement: PreparedStatement;
  readonly session: readonly Column[];
  readonly user: readonly Column[];
}

const lookups = new WeakMap<MetadataStorage, SessionLookup>();

/**
 * The session lookup's statement, built once per ORM. It selects the columns an `em.findOne`
 * of the entities would (read from their metadata, so a new column is never forgotten) under
 * aliases that keep the two tables apart.
 */
function sessionLookup(em: EntityManager): SessionLookup {
  const metadata = em.getMetadata();
  let lookup = lookups.get(metadata);
  if (!lookup) {
    const session = loadedColumns(metadata.get(Session.name), 's');
    const user = loadedColumns(metadata.get(User.name), 'u');
    const select = [...session, ...user].map(({ table, name, alias }) => `${table}."${name}" as "${alias}"`);
    const sql = `select ${select.join(', ')},
            case when u.is_superuser then null else array(${grantedPermissionsSql('u.id')}) end as permissions
       from auth_session s join auth_user u on u.id = s.user_id
      where s.token_hash = ? and s.expires_at > ? and s.last_seen_at > ? and u.is_active`;
    lookup = { statement: preparedStatement('gatehouse_session_lookup', sql), session, user };
    lookups.set(metadata, lookup);
  }
  return lookup;
}

/** The columns a plain load of `meta` reads (its eager scalars and owning to-one references), aliased `table.column`. */
function loadedColumns(meta: EntityMetadata, table: string): Column[] {
  return meta.props
    .filter(
      (prop) =>
        (prop.kind === ReferenceKind.SCALAR || prop.kind === ReferenceKind.MANY_TO_ONE) &&
        !prop.lazy &&
        prop.persist !== false &&
        !prop.formula,
    )
    .flatMap((prop) => prop.fieldNames)
    .map((name) => ({ table, name, alias: `${table}.${name}` }));
}

/** One table's part of a lookup row, keyed by column name as `em.map` expects. */
function pick(row: Record<string, unknown>, columns: readonly Column[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const { name, alias } of columns) picked[name] = row[alias];
  return picked;
}

/** The user's sessions that have not expired, newest first; with `only`, just those of these ids. */
export async function listSessions(em: EntityManager, userId: number, policy: SessionPolicy, only?: readonly string[]): Promise<Session[]> {
  const now = Date.now();
  return em.find(
    Session,
    {
      user: userId,
      expiresAt: { $gt: new Date(now) },
      lastSeenAt: { $gt: new Date(now - policy.idleTimeout * 1000) },
      ...(only ? { id: { $in: [...only] } } : {}),
    },
    { orderBy: { createdAt: 'desc', id: 'desc' } },
  );
}

/**
 * How a sign-out was asked for, as the admin log records it: a form of Gatehouse's pages, the
 * GraphQL API, or the identity provider (back-channel logout).
 */
export type SignOutVia = 'browser' | 'graphql' | 'provider';

/**
 * Signs `session` out: deletes it and records the sign-out (`auth.session`, event SIGN_OUT,
 * its owner the actor) in one transaction. False when the session had already ended (nothing
 * is recorded then).
 */
export async function signOut(em: EntityManager, session: Session, via: SignOutVia): Promise<boolean> {
  return em.transactional(async (tx) => {
    if (!(await endSession(tx, session.id))) return false;
    logSignOut(tx, session.user, { scope: 'this', via, authMethod: session.authMethod, sessionsEnded: 1 });
    await tx.flush();
    return true;
  });
}

/**
 * Ends one of `user`'s own sessions by its id (a "sign out this one" on another device; the
 * current one is a sign-out) and records it, in one transaction. False when `user` has no such
 * live session (another user's counts as none).
 */
export async function endOwnSession(
  em: EntityManager,
  user: User,
  sessionId: string,
  via: SignOutVia,
  currentSessionId?: string | null,
): Promise<boolean> {
  return em.transactional(async (tx) => {
    const session = await tx.findOne(Session, { id: sessionId, user: user.id });
    if (!session || !(await endSession(tx, session.id))) return false;
    logSignOut(tx, user, {
      scope: session.id === currentSessionId ? 'this' : 'one',
      via,
      authMethod: session.authMethod,
      sessionsEnded: 1,
    });
    await tx.flush();
    return true;
  });
}

/**
 * "Sign out everywhere else": ends every session of `user` but `currentSessionId`, and records
 * it when any ended, in one transaction. Returns how many ended.
 */
export async function endOtherSessions(em: EntityManager, user: User, currentSessionId: string, via: SignOutVia): Promise<number> {
  return em.transactional(async (tx) => {
    const ended = await endUserSessions(tx, user.id, currentSessionId);
    if (ended > 0) {
      logSignOut(tx, user, { scope: 'others', via, sessionsEnded: ended });
      await tx.flush();
    }
    return ended;
  });
}

function logSignOut(
  tx: EntityManager,
  user: Pick<User, 'id' | 'username'>,
  details: { scope: 'this' | 'one' | 'others' | 'provider'; via: SignOutVia; authMethod?: AuthMethod; sessionsEnded: number },
): void {
  logSessionEvent(tx, {
    event: LogEvent.SIGN_OUT,
    actor: tx.getReference(User, user.id),
    appLabel: 'auth',
    model: 'session',
    objectId: user.id,
    objectRepr: user.username,
    action: ActionFlag.DELETION,
    message: [{ sign_out: details }],
  });
}

/** Ends one session; true when it existed (and, with `userId`, belonged to that user). */
export async function endSession(em: EntityManager, sessionId: string, userId?: number): Promise<boolean> {
  const where = userId === undefined ? { id: sessionId } : { id: sessionId, user: userId };
  return (await em.nativeDelete(Session, where)) > 0;
}

/**
 * Ends every session of `userId` (deactivation, password change, a sign-in the directory no
 * longer allows), optionally but one; returns how many ended. Within `em`'s transaction, if any.
 */
export async function endUserSessions(em: EntityManager, userId: number, exceptSessionId?: string): Promise<number> {
  return em.nativeDelete(Session, exceptSessionId ? { user: userId, id: { $ne: exceptSessionId } } : { user: userId });
}

/**
 * Ends the single sign-on sessions a provider's logout names: those recording its session ID
 * `sid`, and/or those of `userId` (the person its `sub` identifies). At least one must be given.
 * Each person signed out is recorded (a SIGN_OUT with scope `provider`) within `em`'s
 * transaction, which the caller should hold. Returns how many sessions ended.
 */
export async function endProviderSessions(em: EntityManager, match: { sid?: string; userId?: number }): Promise<number> {
  if (match.sid === undefined && match.userId === undefined) throw new Error('endProviderSessions needs a sid or a user');
  const where = {
    authMethod: AuthMethod.OIDC,
    ...(match.sid !== undefined ? { providerSid: match.sid } : {}),
    ...(match.userId !== undefined ? { user: match.userId } : {}),
  };
  const ending = await em.find(Session, where, { populate: ['user'] });
  if (!ending.length) return 0;
  const ended = await em.nativeDelete(Session, { id: ending.map((s) => s.id) });
  const perUser = new Map<number, { user: User; count: number }>();
  for (const session of ending) {
    const entry = perUser.get(session.user.id) ?? { user: session.user, count: 0 };
    entry.count += 1;
    perUser.set(session.user.id, entry);
  }
  for (const { user, count } of perUser.values())
    logSignOut(em, user, { scope: 'provider', via: 'provider', authMethod: AuthMethod.OIDC, sessionsEnded: count });
  await em.flush();
  return ended;
}

/** What a session's refresh needs, read as the refresh is claimed. */
export interface RefreshClaim {
  sealedToken: string;
  idToken: string | null;
}

/**
 * Claims the refresh of a session that is due, for `leaseMs`: one UPDATE … WHERE, so that of any
 * number of requests and instances exactly one gets it while it is due and not claimed (or its
 * lease has run out). Returns the sealed refresh token and the latest ID token, or null when the
 * session is not due, is being refreshed elsewhere, or is gone.
 */
export async function claimSessionRefresh(em: EntityManager, sessionId: string, now: Date, leaseMs: number): Promise<RefreshClaim | null> {
  const rows: Array<{ refresh_token: string | null; id_token: string | null }> = await em.execute(
    `update "auth_session" set "refreshing_until" = ?
      where "id" = ? and "refresh_due_at" <= ? and ("refreshing_until" is null or "refreshing_until" <= ?)
      returning "refresh_token", "id_token"`,
    [new Date(now.getTime() + leaseMs), sessionId, now, now],
  );
  const row = rows[0];
  return row?.refresh_token ? { sealedToken: row.refresh_token, idToken: row.id_token } : null;
}

/** Records a successful refresh: the new tokens (those the provider did not rotate stay), the next due time, the claim released. */
export async function completeSessionRefresh(
  em: EntityManager,
  sessionId: string,
  update: { sealedToken?: string; idToken?: string; dueAt: Date },
): Promise<void> {
  await em.nativeUpdate(
    Session,
    { id: sessionId },
    {
      refreshDueAt: update.dueAt,
      refreshingUntil: null,
      ...(update.sealedToken !== undefined ? { refreshToken: update.sealedToken } : {}),
      ...(update.idToken !== undefined ? { idToken: update.idToken } : {}),
    },
  );
}

/** Holds further refreshes of a session off until `until` (the provider could not be reached); it stays due. */
export async function deferSessionRefresh(em: EntityManager, sessionId: string, until: Date): Promise<void> {
  await em.nativeUpdate(Session, { id: sessionId }, { refreshingUntil: until });
}

/** Deletes sessions past their absolute or idle timeout. */
export async function purgeExpiredSessions(em: EntityManager, policy: SessionPolicy): Promise<number> {
  const now = Date.now();
  return em.nativeDelete(Session, {
    $or: [{ expiresAt: { $lte: new Date(now) } }, { lastSeenAt: { $lte: new Date(now - policy.idleTimeout * 1000) } }],
  });
}
