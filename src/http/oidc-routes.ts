import express, { type Request, type Response, type Router } from 'express';
import type { Database } from '../db/database';
import type { GatehouseServices } from '../graphql/context';
import { clearCookie, clearSessionCookie, readCookie, readSessionToken, setCookie, setSessionCookie } from './cookies';
import { resolveSession, signOut } from '../sessions/sessions.service';
import { LogoutTokenRefused } from '../sso/backchannel-logout';
import { LOGIN_TRANSACTION_TTL_MS, MAX_PENDING_PER_BROWSER } from '../sso/login-transactions';
import { SsoFailure, type SsoErrorCode } from '../sso/sso.service';
import { isSameOriginPost, rawQuery } from './request-guards';
import { safeNext } from './safe-next';

/** Attempts kept in the browser-binding cookie: enough for a few tabs signing in at once. */
const MAX_PENDING_STATES = MAX_PENDING_PER_BROWSER;
/** States read from a (tampered, oversized) cookie beyond this many are ignored. */
const MAX_COOKIE_STATES = 20;

/**
 * The single sign-on routes, named after mozilla-django-oidc's:
 *
 * - `GET /oidc/authenticate/?next=<path>` → 302 to the provider (code flow, PKCE S256, state, nonce);
 *   `&reauthenticate=1` asks the provider to prompt for an account even if it has a session.
 *   Each hit stores a login transaction, so it is bounded, never refused: per client address
 *   (MAX_PENDING_PER_CLIENT, the oldest deleted first) and per browser (the attempts that
 *   fall out of the state cookie are deleted).
 * - `GET /oidc/callback/` → session cookie and 303 to `next`; any failure → 303 to
 *   `/login?error=<code>` with a generic message (detail in the log).
 * - `POST /oidc/logout/` → ends the session, then 303 to the provider's logout (or `/login`).
 * - `POST /oidc/backchannel-logout/` ← the provider's `logout_token` (Back-Channel Logout 1.0):
 *   200 once the sessions it names have ended; 400 with a JSON `error` for a token refused.
 * - `GET /oidc/jwks.json` → Gatehouse's public key for private_key_jwt (empty without one).
 *
 * Each attempt's `state` is also kept in a short-lived HttpOnly cookie, and the callback
 * accepts only a state this browser started: a callback URL carrying an attacker's own code
 * and state (login CSRF, OAuth 2.0 Security BCP §4.7) cannot sign the victim in.
 */
export function oidcRoutes(deps: { services: GatehouseServices; db: Database }): Router {
  const { services, db } = deps;
  const { config, logger } = services;
  const router = express.Router();
  const stateCookie = 'gatehouse_oidc_state';

  const cookieStates = (req: Request): string[] =>
    (readCookie(req, config, stateCookie) ?? '')
      .split('.')
      .filter((s) => /^[A-Za-z0-9_-]{16,128}$/.test(s))
      .slice(-MAX_COOKIE_STATES);
  const pendingStates = (req: Request): string[] => cookieStates(req).slice(-MAX_PENDING_STATES);
  const writeStates = (res: Response, states: string[]) => {
    if (states.length === 0) clearCookie(res, config, stateCookie);
    // SameSite=Lax: sent on the provider's top-level redirect back to the callback.
    else setCookie(res, config, stateCookie, states.join('.'), LOGIN_TRANSACTION_TTL_MS);
  };
  const toLogin = (res: Response, code: SsoErrorCode, next?: string) => {
    const params = new URLSearchParams({ error: code });
    if (next) params.set('next', next);
    res.redirect(303, `/login?${params}`);
  };
  const noStore = (_req: Request, res: Response, nextHandler: () => void) => {
    res.set('Cache-Control', 'no-store');
    nextHandler();
  };

  router.get('/oidc/authenticate/', noStore, async (req, res) => {
    const next = safeNext(req.query.next);
    if (!services.sso) return toLogin(res, 'idp_unavailable', next);
    // The new attempt takes a place in the cookie; the attempts that lose theirs are deleted.
    const states = cookieStates(req);
    const kept = states.slice(-(MAX_PENDING_STATES - 1));
    try {
      const { url, state } = await services.sso.beginLogin(db.orm.em.fork(), next, {
        forceLogin: req.query.reauthenticate === '1',
        client: req.ip ?? '',
        superseded: states.slice(0, states.length - kept.length),
      });
      writeStates(res, [...kept, state]);
      res.redirect(302, url);
    } catch (error) {
      toLogin(res, error instanceof SsoFailure ? error.code : 'sso_failed', next);
    }
  });

  router.get('/oidc/callback/', noStore, async (req, res) => {
    if (!services.sso) return toLogin(res, 'idp_unavailable');
    const state = typeof req.query.state === 'string' ? req.query.state : '';
    const pending = pendingStates(req);
    if (!state || !pending.includes(state)) {
      logger.warn({ state: state.slice(0, 16) }, 'single sign-on callback for a state this browser did not start');
      return toLogin(res, 'sso_failed');
    }
    writeStates(
      res,
      pending.filter((s) => s !== state),
    );
    try {
      const { token, next } = await services.sso.completeLogin(db.orm.em.fork(), rawQuery(req), {
        userAgent: req.get('user-agent') ?? '',
        ipAddress: req.ip ?? '',
        replacing: readSessionToken(req, config),
      });
      setSessionCookie(res, config, token);
      res.redirect(303, safeNext(next));
    } catch (error) {
      toLogin(res, error instanceof SsoFailure ? error.code : 'sso_failed');
    }
  });

  router.post('/oidc/logout/', noStore, async (req, res) => {
    if (!isSameOriginPost(req, config.PUBLIC_URL)) {
      res.status(403).type('text/plain').send('cross-origin request refused');
      return;
    }
    const em = db.orm.em.fork();
    const token = readSessionToken(req, config);
    const session = token ? await resolveSession(em, token, services.sessionPolicy) : null;
    let destination: string | null = null;
    if (session) {
      destination = services.sso ? await services.sso.logoutUrl(em, session) : null;
      await signOut(em, session, 'browser');
    }
    clearSessionCookie(res, config);
    res.redirect(303, destination ?? '/login');
  });

  // Server to server: no cookie, no Origin; the signed logout token is the authentication.
  router.post('/oidc/backchannel-logout/', noStore, express.urlencoded({ extended: false, limit: '64kb' }), async (req, res) => {
    const refuse = (description: string) => res.status(400).json({ error: 'invalid_request', error_description: description });
    if (!services.sso) return refuse('single sign-on is off');
    const body: unknown = req.body;
    const logoutToken = body && typeof body === 'object' ? (body as Record<string, unknown>).logout_token : undefined;
    if (typeof logoutToken !== 'string' || logoutToken === '') return refuse('logout_token is missing (send it form-encoded)');
    try {
      await services.sso.backChannelLogout(db.orm.em.fork(), logoutToken);
      res.status(200).end();
    } catch (error) {
      if (error instanceof LogoutTokenRefused) return refuse(error.description);
      // §2.8: a logout that failed is answered 400 too; nothing was recorded, so the provider may retry.
      logger.error({ err: error }, 'back-channel logout failed');
      res.status(400).json({ error: 'logout_failed', error_description: 'the logout could not be completed; try again' });
    }
  });

  router.get('/oidc/jwks.json', async (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300');
    res.json(services.sso ? await services.sso.clientJwks() : { keys: [] });
  });

  return router;
}
