import express, { type Request, type Response, type Router } from 'express';
import type { Database } from '../db/database';
import type { GatehouseServices } from '../graphql/context';
import { clearCookie, clearSessionCookie, readCookie, readSessionToken, setCookie, setSessionCookie } from './cookies';
import { endSession, resolveSession } from '../sessions/sessions.service';
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
 *   Each hit stores a login transaction, so it is bounded: per client address (SSO_ATTEMPTS_PER_CLIENT
 *   per window, then 303 to `/login?error=too_many_attempts`) and per browser (the attempts that
 *   fall out of the state cookie are deleted).
 * - `GET /oidc/callback/` → session cookie and 303 to `next`; any failure → 303 to
 *   `/login?error=<code>` with a generic message (detail in the log).
 * - `POST /oidc/logout/` → ends the session, then 303 to the provider's logout (or `/login`).
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
      await endSession(em, session.id);
    }
    clearSessionCookie(res, config);
    res.redirect(303, destination ?? '/login');
  });

  return router;
}
