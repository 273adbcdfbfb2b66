import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger';
import { endProviderSessions } from '../sessions/sessions.service';
import { LOGOUT_TOKEN_MAX_AGE_SECONDS, type LogoutTokenClaims, type RelyingParty } from './relying-party';
import { SeenLogoutToken } from './logout-token.entity';
import { SsoIdentity } from './sso-identity.entity';

/*
 * OpenID Connect Back-Channel Logout 1.0: the provider POSTs a signed `logout_token` to
 * `/oidc/backchannel-logout/` when a person's session there ends, and Gatehouse ends theirs.
 */

/** The `events` member that makes a JWT a back-channel logout token (§2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

const MAX_CLAIM = 255;

/** A logout token Gatehouse does not act on; `description` is what the provider is told. */
export class LogoutTokenRefused extends Error {
  constructor(
    readonly description: string,
    options?: { cause?: unknown },
  ) {
    super(description, options);
    this.name = 'LogoutTokenRefused';
  }
}

/** What a valid logout token asks: end the sessions of `sid` and/or of `sub`. */
export interface LogoutRequest {
  jti: string;
  sid: string | null;
  sub: string | null;
  /** Until when its `jti` must be remembered: past it, the token's age refuses it anyway. */
  rememberUntil: Date;
}

const optionalString = (value: unknown, name: string): string | null => {
  if (value === undefined) return null;
  if (typeof value !== 'string' || value === '' || value.length > MAX_CLAIM)
    throw new LogoutTokenRefused(`the logout token's ${name} is not a string of 1 to ${MAX_CLAIM} characters`);
  return value;
};

/**
 * The meaning of a verified logout token (§2.6 steps 4-7): `events` holding the back-channel
 * logout member (an object), a `sid` or a `sub` or both, no `nonce` (so an ID token can never
 * pass for one), and a `jti` to refuse replays with. The `jti` is remembered for as long as the
 * token could be accepted: its age limit or its expiry, whichever is later, plus the clock tolerance.
 *
 * @throws LogoutTokenRefused naming what is wrong.
 */
export function readLogoutToken(claims: LogoutTokenClaims, clockToleranceSeconds: number): LogoutRequest {
  const events = claims.events;
  const event =
    events && typeof events === 'object' && !Array.isArray(events)
      ? (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT]
      : undefined;
  if (!event || typeof event !== 'object' || Array.isArray(event))
    throw new LogoutTokenRefused(`the logout token has no events claim with ${BACKCHANNEL_LOGOUT_EVENT}`);
  if (claims.nonce !== undefined) throw new LogoutTokenRefused('the logout token carries a nonce (it may be an ID token)');
  const sid = optionalString(claims.sid, 'sid');
  const sub = optionalString(claims.sub, 'sub');
  if (sid === null && sub === null) throw new LogoutTokenRefused('the logout token has neither sid nor sub');
  const jti = optionalString(claims.jti, 'jti');
  if (jti === null) throw new LogoutTokenRefused('the logout token has no jti');
  const byAge = ((claims.iat ?? 0) + LOGOUT_TOKEN_MAX_AGE_SECONDS) * 1000;
  const byExpiry = typeof claims.exp === 'number' ? claims.exp * 1000 : 0;
  return { jti, sid, sub, rememberUntil: new Date(Math.max(byAge, byExpiry) + clockToleranceSeconds * 1000) };
}

/**
 * Acts on a back-channel logout token: verifies it (`RelyingParty.verifyLogoutToken`, then
 * `readLogoutToken`), records its `jti` — refusing one seen before, by any instance — and ends
 * the single sign-on sessions it names: those with its `sid` when it has one (and, with a `sub`
 * too, only that person's), else every session of the person its `sub` identifies at this
 * issuer. The `jti` and the ended sessions are one transaction: a failure leaves neither, so the
 * provider may send the token again. A token naming no session still succeeds (there is nothing
 * left to end). Returns how many sessions ended.
 *
 * @throws LogoutTokenRefused for a token that fails a check or was used before.
 */
export async function backChannelLogout(
  em: EntityManager,
  relyingParty: RelyingParty,
  logger: Logger,
  logoutToken: string,
): Promise<number> {
  let request: LogoutRequest;
  try {
    request = readLogoutToken(await relyingParty.verifyLogoutToken(logoutToken), relyingParty.settings.clockTolerance);
  } catch (error) {
    const refused =
      error instanceof LogoutTokenRefused ? error : new LogoutTokenRefused('the logout token failed verification', { cause: error });
    logger.info({ reason: refused.description, err: refused.cause }, 'back-channel logout: logout token refused');
    throw refused;
  }
  const issuer = relyingParty.issuer;
  const ended = await em.transactional(async (tx) => {
    const recorded = await tx.execute<Array<{ jti: string }>>(
      'insert into "sso_logout_token" ("issuer", "jti", "expires_at") values (?, ?, ?) on conflict do nothing returning "jti"',
      [issuer.slice(0, MAX_CLAIM), request.jti, request.rememberUntil],
    );
    if (recorded.length === 0) return null;
    let userId: number | undefined;
    if (request.sub !== null) {
      const identity = await tx.findOne(SsoIdentity, { issuer, subject: request.sub });
      if (!identity) return 0;
      userId = identity.user.id;
    }
    return endProviderSessions(tx, { sid: request.sid ?? undefined, userId });
  });
  if (ended === null) {
    // Replayed (§2.6 step 7): whoever resends a token seen before gets nothing, from any instance.
    logger.warn({ issuer, jti: request.jti, sub: request.sub, sid: request.sid }, 'back-channel logout: logout token replayed');
    throw new LogoutTokenRefused('the logout token was used before (its jti is replayed)');
  }
  logger.info({ issuer, sub: request.sub, sid: request.sid, sessionsEnded: ended }, 'back-channel logout: sessions ended');
  return ended;
}

/** Deletes the remembered logout tokens whose age refuses them anyway. */
export async function purgeExpiredLogoutTokens(em: EntityManager): Promise<number> {
  return em.nativeDelete(SeenLogoutToken, { expiresAt: { $lte: new Date() } });
}
