import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger';
import type { Session } from '../sessions/session.entity';
import { claimSessionRefresh, completeSessionRefresh, deferSessionRefresh, endSession } from '../sessions/sessions.service';
import type { TokenCipher } from '../sessions/token-cipher';
import { ProviderUnavailableError, userClaims, type RelyingParty } from './relying-party';
import type { SsoSettings } from './settings';
import { signInWithClaims, SsoLoginRefused, type SsoLoginPolicy } from './sso-login';

/*
 * Session refresh — mozilla-django-oidc's `SessionRefresh`, done with the refresh token: at most
 * every SSO_REFRESH_INTERVAL, a single sign-on session's next request asks the provider again,
 * so a person the directory has disabled, logged out or moved loses access within the interval.
 */

/** What a request does about its session's refresh, decided from the session row alone. */
export type RefreshNeed = 'none' | 'refresh' | 'hold';

/**
 * Whether `session` must be refreshed before this request uses it — read from the columns the
 * session lookup already loaded, so a session that is not due costs no statement:
 * - `none`: not due (or no refresh token); or due but another request is refreshing it, or the
 *   provider just failed, and the grace period has not run out: use it as it is;
 * - `refresh`: due and nobody refreshing: try (`refreshSession`);
 * - `hold`: due, past its grace period, and another request is refreshing it: not usable now.
 */
export function refreshNeed(session: Pick<Session, 'refreshDueAt' | 'refreshingUntil'>, now: number, graceSeconds: number): RefreshNeed {
  const due = session.refreshDueAt?.getTime();
  if (due === undefined || due > now) return 'none';
  if (!session.refreshingUntil || session.refreshingUntil.getTime() <= now) return 'refresh';
  return now < due + graceSeconds * 1000 ? 'none' : 'hold';
}

/** How a refresh attempt left the session. */
export type RefreshOutcome =
  /** Refreshed at the provider: its user's groups may have changed, read them again. */
  | 'refreshed'
  /** Usable as it was (refreshed elsewhere, or the provider is down and the grace period runs). */
  | 'unchanged'
  /** Not usable: ended (refused, past its grace period) or held by another refresh past it. */
  | 'refused';

export interface SessionRefreshDeps {
  relyingParty: RelyingParty;
  settings: SsoSettings;
  /** The sign-in policy a refresh's claims go through, as a sign-in's do (provisioned directory groups included). */
  loginPolicy: SsoLoginPolicy;
  cipher: TokenCipher | null;
  logger: Logger;
}

/**
 * Refreshes `session` at the provider, at most once at a time per session across instances
 * (`claimSessionRefresh`: one UPDATE … WHERE takes a lease; the other requests go on with the
 * session as it is). With the refresh token (decrypted with SESSION_ENCRYPTION_KEY):
 *
 * - the provider refuses (`invalid_grant`), or its new ID token is about someone else
 *   (`iss`/`sub`/`aud`/`azp` differ, OIDC Core §12.2): the session ends;
 * - new claims: re-mapped to groups by the sign-in steps (`signInWithClaims`, via `refresh`), the
 *   new tokens stored and the next refresh scheduled in the same transaction; a refusal there
 *   (nothing maps, account disabled) revokes, and the session ends;
 * - the provider cannot be reached: the session goes on until SSO_REFRESH_GRACE after it was due
 *   (logged), retrying at most once a minute; then it ends.
 */
export async function refreshSession(em: EntityManager, session: Session, deps: SessionRefreshDeps): Promise<RefreshOutcome> {
  const { relyingParty, settings, loginPolicy, cipher, logger } = deps;
  const now = Date.now();
  const dueAt = session.refreshDueAt?.getTime() ?? now;
  const graceUntil = dueAt + settings.refreshGrace * 1000;
  const log = { sessionId: session.id, userId: session.user.id };
  // The lease covers the token request, the JWKS and userinfo, each bounded by OIDC_HTTP_TIMEOUT.
  const claim = await claimSessionRefresh(em, session.id, new Date(now), (settings.httpTimeout * 3 + 5) * 1000);
  if (!claim) return now < graceUntil ? 'unchanged' : 'refused';

  const end = async (message: string, detail: Record<string, unknown> = {}): Promise<RefreshOutcome> => {
    await endSession(em, session.id);
    logger.info({ ...log, ...detail }, message);
    return 'refused';
  };

  let refreshToken: string;
  try {
    if (!cipher) throw new Error('SESSION_ENCRYPTION_KEY is unset');
    refreshToken = await cipher.open(claim.sealedToken);
  } catch (error) {
    return end('session refresh: the refresh token cannot be decrypted (SESSION_ENCRYPTION_KEY changed?); session ended', {
      detail: (error as Error).message,
    });
  }
  if (!claim.idToken) return end('session refresh: the session has no ID token to compare with; session ended');

  let refreshed;
  try {
    refreshed = await relyingParty.refresh(refreshToken, claim.idToken);
  } catch (error) {
    if (!(error instanceof ProviderUnavailableError)) {
      return end('session refresh refused by the identity provider; session ended', {
        detail: (error as Error).message,
        err: (error as Error).cause ?? error,
      });
    }
    if (now >= graceUntil) {
      await endSession(em, session.id);
      logger.warn(
        { ...log, err: error.cause ?? error },
        'session refresh: identity provider unavailable past the grace period; session ended',
      );
      return 'refused';
    }
    await deferSessionRefresh(em, session.id, new Date(now + Math.min(60, settings.refreshInterval) * 1000));
    logger.warn(
      { ...log, err: error.cause ?? error, graceUntil: new Date(graceUntil).toISOString() },
      'session refresh: identity provider unavailable; the session goes on within its grace period',
    );
    return 'unchanged';
  }

  const update = {
    sealedToken: refreshed.refreshToken && cipher ? await cipher.seal(refreshed.refreshToken) : undefined,
    idToken: refreshed.idToken ?? undefined,
    dueAt: new Date(now + settings.refreshInterval * 1000),
  };
  if (!refreshed.claims) {
    await completeSessionRefresh(em, session.id, update);
    logger.debug(log, 'session refreshed (no new claims)');
    return 'refreshed';
  }
  try {
    await signInWithClaims(
      em,
      { issuer: relyingParty.issuer, claims: userClaims(refreshed.claims), via: 'refresh' },
      loginPolicy,
      logger,
      (tx) => completeSessionRefresh(tx, session.id, update),
    );
  } catch (error) {
    if (error instanceof SsoLoginRefused)
      return end('session refresh: the sign-in policy refuses the refreshed claims; session ended', { reason: error.reason });
    throw error;
  }
  logger.debug(log, 'session refreshed');
  return 'refreshed';
}
