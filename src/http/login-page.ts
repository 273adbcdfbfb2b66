import escapeHtml from 'escape-html';
import express, { type Response, type Router } from 'express';
import { createHash } from 'node:crypto';
import type { Database } from '../db/database';
import { GatehouseError } from '../errors';
import type { GatehouseServices } from '../graphql/context';
import { readSessionToken, setSessionCookie } from './cookies';
import { loginWithPassword } from '../sessions/password-login';
import { isSameOriginPost } from './request-guards';
import { safeNext } from './safe-next';

/** The messages `/login?error=<code>` shows; anything else shows nothing. Generic on purpose. */
const MESSAGES: Record<string, string> = {
  access_not_granted: 'Access not granted: your account is not in a group that may use Gatehouse.',
  account_disabled: 'Access not granted: your account is disabled.',
  account_conflict: 'Sign-in failed: an account with your name exists but is not linked to your identity. Ask an administrator.',
  invalid_claims: 'Sign-in failed. Please try again.',
  idp_unavailable: 'The identity provider is unavailable. Try again later, or sign in with a password.',
  sso_failed: 'Sign-in failed. Please try again.',
};

const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15);width:20rem}
h1{font-size:1.4rem;margin:0 0 1rem}label{display:block;margin:.6rem 0 .2rem}
input{width:100%;box-sizing:border-box;padding:.5rem}button,a.sso{display:block;width:100%;box-sizing:border-box;margin-top:1rem;padding:.6rem;text-align:center;font-size:1rem;border-radius:4px}
button{background:#2d5be3;color:#fff;border:0}a.sso{border:1px solid #2d5be3;color:#2d5be3;text-decoration:none}
p.error{background:#fdecea;color:#8a1c12;padding:.6rem;border-radius:4px}hr{margin:1.4rem 0;border:0;border-top:1px solid #ddd}`;

// The stylesheet is inline and allowed by its hash: no external assets, no 'unsafe-inline'.
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');
const CSP = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

/** The sign-in page: password form and "Sign in with single sign-on", with one generic message. */
export function renderLoginPage(options: { next: string; message?: string | null; username?: string; sso: boolean }): string {
  const next = escapeHtml(options.next);
  const message = options.message ? `<p class="error" role="alert">${escapeHtml(options.message)}</p>` : '';
  // After a refusal the provider still has its own session for the refused account; asking it
  // to prompt again (OIDC Core §3.1.2.1 prompt=login) lets the person pick another account.
  const retry = options.message ? '&reauthenticate=1' : '';
  const sso = options.sso
    ? `<hr><a class="sso" href="/oidc/authenticate/?next=${escapeHtml(encodeURIComponent(options.next))}${retry}">Sign in with single sign-on</a>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Sign in · Gatehouse</title><style>${STYLE}</style></head>
<body><main><h1>Sign in to Gatehouse</h1>${message}
<form method="post" action="/login"><input type="hidden" name="next" value="${next}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required value="${escapeHtml(options.username ?? '')}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>${sso}</main></body></html>`;
}

function sendPage(res: Response, status: number, html: string): void {
  res
    .status(status)
    .set({
      'Content-Security-Policy': CSP,
      'Cache-Control': 'no-store',
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      // Not no-referrer (server.ts sets it on every other /login response): under no-referrer
      // browsers send `Origin: null` with this page's form POST, which isSameOriginPost refuses.
      // The page makes no cross-origin request, so same-origin leaks no more.
      'Referrer-Policy': 'same-origin',
    })
    .type('html')
    .send(html);
}

/**
 * `GET /login` and `POST /login`. The form checks exactly what the `login` mutation checks
 * (`loginWithPassword`: same message for every refusal, throttling), sets the session cookie
 * and answers 303 to `next`; a refusal re-renders the page with a generic message. The POST
 * must come from Gatehouse's own origin (login CSRF).
 */
export function loginPageRoutes(deps: { services: GatehouseServices; db: Database }): Router {
  const { services, db } = deps;
  const { config, logger } = services;
  const router = express.Router();

  router.get('/login', (req, res) => {
    const code = typeof req.query.error === 'string' ? req.query.error : '';
    sendPage(res, 200, renderLoginPage({ next: safeNext(req.query.next), message: MESSAGES[code] ?? null, sso: Boolean(services.sso) }));
  });

  router.post('/login', express.urlencoded({ extended: false, limit: '10kb' }), async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const next = safeNext(body.next);
    const sso = Boolean(services.sso);
    if (!isSameOriginPost(req, config.PUBLIC_URL)) {
      sendPage(
        res,
        403,
        renderLoginPage({ next, message: 'Sign-in failed: the form was not sent from this site. Reload the page and try again.', sso }),
      );
      return;
    }
    const username = typeof body.username === 'string' ? body.username.slice(0, 150) : '';
    // Not truncated: a password over the limit is refused, never checked by its first 1,024 characters.
    const password = typeof body.password === 'string' ? body.password : '';
    try {
      const { token } = await loginWithPassword(
        db.orm.em.fork(),
        { username, password },
        { userAgent: req.get('user-agent') ?? '', ipAddress: req.ip ?? '', replacing: readSessionToken(req, config) },
        { policy: services.sessionPolicy, throttle: services.loginThrottle, metrics: services.metrics },
      );
      setSessionCookie(res, config, token);
      res.redirect(303, next);
    } catch (error) {
      // loginWithPassword's messages are generic by design (one for every refusal, or "try again in N s").
      if (error instanceof GatehouseError && error.code === 'UNAUTHENTICATED') {
        sendPage(
          res,
          401,
          renderLoginPage({ next, message: error.message.charAt(0).toUpperCase() + error.message.slice(1) + '.', username, sso }),
        );
        return;
      }
      logger.error({ err: error }, 'password sign-in failed');
      sendPage(res, 500, renderLoginPage({ next, message: 'Sign-in failed. Please try again.', username, sso }));
    }
  });

  return router;
}
