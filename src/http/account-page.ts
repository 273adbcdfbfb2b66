import type { EntityManager } from '@mikro-orm/postgresql';
import escapeHtml from 'escape-html';
import express, { type Request, type Response, type Router } from 'express';
import { decodeJwt } from 'jose';
import { createHash } from 'node:crypto';
import type { Config } from '../config/env';
import type { Database } from '../db/database';
import { uuidId } from '../db/ids';
import type { GatehouseServices } from '../graphql/context';
import { explainMemberships, type GroupGrant } from '../permissions/explain';
import { ALL_PERMISSIONS } from '../permissions/registry';
import { AuthMethod, type Session } from '../sessions/session.entity';
import { endOtherSessions, endOwnSession, listSessions, resolveSessionWithPermissions } from '../sessions/sessions.service';
import { MatchType } from '../sso/group-mapping-rule.entity';
import { loginPolicyInForce } from '../sso/settings';
import { SsoIdentity } from '../sso/sso-identity.entity';
import { MembershipSource } from '../users/user-group.entity';
import type { User } from '../users/user.entity';
import { clearSessionCookie, readSessionToken } from './cookies';
import { isSameOriginPost } from './request-guards';

/** Where a browser without a session is sent: the sign-in page, returning here. */
export const ACCOUNT_SIGN_IN = '/login?next=/';

/** The palette and font of the sign-in page, on a wider card. */
const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;color:#1d2026}
main{background:#fff;margin:2rem auto;padding:2rem;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15);max-width:48rem}
h1{font-size:1.4rem;margin:0 0 1rem}h2{font-size:1.1rem;margin:1.6rem 0 .6rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
dl{display:grid;grid-template-columns:11rem 1fr;gap:.3rem .8rem;margin:0}dt{color:#555}dd{margin:0}
ul{margin:.2rem 0;padding-left:1.2rem}li{margin:.15rem 0}code{font-size:.9em;background:#f0f1f4;padding:0 .25rem;border-radius:3px}
table{border-collapse:collapse;width:100%;font-size:.92rem}td.time{white-space:nowrap}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #eee;vertical-align:top}
.muted{color:#666;font-size:.9rem}.tag{background:#e7eefc;color:#2d5be3;border-radius:3px;padding:0 .35rem;font-size:.85rem}
form{display:inline;margin:0}button{background:#2d5be3;color:#fff;border:0;border-radius:4px;padding:.45rem .8rem;font-size:.95rem;cursor:pointer}
button.secondary{background:#fff;color:#2d5be3;border:1px solid #2d5be3}header{display:flex;justify-content:space-between;align-items:center;gap:1rem}
p.notice{background:#e8f5e9;color:#1b5e20;padding:.6rem;border-radius:4px}nav a{margin-right:1rem;color:#2d5be3}`;

// The stylesheet is inline and allowed by its hash; the page has no script at all.
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/**
 * No script, styles by hash, nothing loaded from anywhere; forms post to this origin — and, for
 * the Sign out button of a single sign-on session, follow /oidc/logout/'s redirect to the
 * provider's logout, which `form-action` must allow (browsers check it on a form's redirects).
 */
function contentSecurityPolicy(logoutOrigin: string | null): string {
  const formAction = logoutOrigin ? `'self' ${logoutOrigin}` : "'self'";
  return `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`;
}

/** Everything the account page shows about the signed-in person. */
interface Account {
  user: User;
  session: Session;
  /** `app_label.codename`, sorted. */
  permissions: string[];
  groups: GroupGrant[];
  sessions: Session[];
  /** The provider a single sign-on session signed in at; null for a password session. */
  issuer: string | null;
  groupsClaim: string;
  /** Where this session's sign-out continues at the provider (RP-initiated logout), if anywhere. */
  logoutUrl: string | null;
}

/**
 * `GET /`, the account page: who is signed in (and how), their groups and where each comes
 * from, their permissions by app, their sessions, the explorers; signed out, a 303 to
 * `/login?next=/`. Its forms:
 *
 * - `POST /account/sessions/end` (`session=<id>`): signs one of the person's own sessions out.
 * - `POST /account/sessions/end-others`: signs out every session but this one.
 * - Sign out posts to `/oidc/logout/` (oidc-routes.ts), which continues at the provider.
 *
 * Every POST must come from Gatehouse's own pages (`isSameOriginPost`), and only ever ends
 * sessions of the person signed in.
 */
export function accountPageRoutes(deps: { services: GatehouseServices; db: Database }): Router {
  const { services, db } = deps;
  const { config } = services;
  const router = express.Router();
  const claimReading = () => {
    const policy = loginPolicyInForce(config, services.sso?.settings);
    return { groupsClaim: policy.groupsClaim, groupsClaimAllowString: policy.groupsClaimAllowString };
  };

  /** The request's live session (refreshed at the provider first when due), or null. */
  async function currentSession(req: Request, em: EntityManager) {
    const token = readSessionToken(req, config);
    if (!token) return null;
    let resolved = await resolveSessionWithPermissions(em, token, services.sessionPolicy);
    const need = resolved && services.sso ? services.sso.refreshNeed(resolved.session) : 'none';
    if (resolved && need !== 'none') {
      const outcome = need === 'refresh' ? await services.sso!.refreshSession(db.orm.em.fork(), resolved.session) : 'refused';
      if (outcome === 'refused') return null;
      if (outcome === 'refreshed') resolved = await resolveSessionWithPermissions(em, token, services.sessionPolicy);
    }
    return resolved;
  }

  router.get('/', async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const em = db.orm.em.fork();
    const resolved = await currentSession(req, em);
    if (!resolved) {
      res.redirect(303, ACCOUNT_SIGN_IN);
      return;
    }
    const { session } = resolved;
    const user = session.user;
    const reading = claimReading();
    const logoutUrl = services.sso ? await services.sso.logoutUrl(em, session) : null;
    const account: Account = {
      user,
      session,
      permissions: [...(resolved.permissions ?? ALL_PERMISSIONS.map((p) => p.fullName))].sort(),
      groups: await explainMemberships(em, user.id, reading),
      sessions: await listSessions(em, user.id, services.sessionPolicy),
      issuer: session.authMethod === AuthMethod.OIDC ? await issuerOf(em, session) : null,
      groupsClaim: reading.groupsClaim,
      logoutUrl,
    };
    sendPage(res, 200, renderAccountPage(account, { config, notice: noticeOf(req.query) }), logoutUrl);
  });

  const form = express.urlencoded({ extended: false, limit: '2kb', parameterLimit: 10 });

  router.post('/account/sessions/end', form, async (req, res) => {
    if (!refuseCrossSite(req, res, config)) return;
    const em = db.orm.em.fork();
    const resolved = await currentSession(req, em);
    if (!resolved) return void res.redirect(303, ACCOUNT_SIGN_IN);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const sessionId = typeof body.session === 'string' ? uuidId(body.session) : null;
    const ended = sessionId !== null && (await endOwnSession(em, resolved.session.user, sessionId, 'browser', resolved.session.id));
    if (ended && sessionId === resolved.session.id) {
      clearSessionCookie(res, config);
      return void res.redirect(303, '/login');
    }
    res.redirect(303, ended ? '/?ended=1' : '/?ended=0');
  });

  router.post('/account/sessions/end-others', form, async (req, res) => {
    if (!refuseCrossSite(req, res, config)) return;
    const em = db.orm.em.fork();
    const resolved = await currentSession(req, em);
    if (!resolved) return void res.redirect(303, ACCOUNT_SIGN_IN);
    const ended = await endOtherSessions(em, resolved.session.user, resolved.session.id, 'browser');
    res.redirect(303, `/?ended=${ended}`);
  });

  return router;
}

/** True when the POST may go on; else answers 403 (a page of another site, or no origin at all). */
function refuseCrossSite(req: Request, res: Response, config: Config): boolean {
  if (isSameOriginPost(req, config.PUBLIC_URL)) return true;
  res.status(403).set('Cache-Control', 'no-store').type('text/plain').send('cross-origin request refused');
  return false;
}

/** The issuer a single sign-on session signed in at: its ID token's `iss`, else the user's latest identity's. */
async function issuerOf(em: EntityManager, session: Session): Promise<string | null> {
  if (session.idToken) {
    try {
      const { iss } = decodeJwt(session.idToken);
      if (typeof iss === 'string') return iss;
    } catch {
      // Verified at sign-in; an unreadable one only loses the issuer's name here.
    }
  }
  const identity = await em.findOne(SsoIdentity, { user: session.user.id }, { orderBy: { lastLoginAt: 'desc' } });
  return identity?.issuer ?? null;
}

/** `?ended=N` after a form: how many sessions were signed out (a number, never echoed text). */
function noticeOf(query: Request['query']): string | null {
  if (typeof query.ended !== 'string' || !/^[0-9]{1,6}$/.test(query.ended)) return null;
  const ended = Number(query.ended);
  if (ended === 0) return 'No other session was signed in.';
  return ended === 1 ? 'Signed out 1 session.' : `Signed out ${ended} sessions.`;
}

function sendPage(res: Response, status: number, html: string, logoutUrl: string | null): void {
  let logoutOrigin: string | null = null;
  try {
    logoutOrigin = logoutUrl ? new URL(logoutUrl).origin : null;
  } catch {
    logoutOrigin = null;
  }
  res
    .status(status)
    .set({
      'Content-Security-Policy': contentSecurityPolicy(logoutOrigin),
      'Cache-Control': 'no-store',
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      // Not no-referrer: under it browsers send `Origin: null` with the page's form POSTs, which
      // isSameOriginPost refuses. The page links only to this origin.
      'Referrer-Policy': 'same-origin',
    })
    .type('html')
    .send(html);
}

const e = (value: unknown) => escapeHtml(String(value));

function when(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const MATCH_WORDS: Record<MatchType, string> = {
  [MatchType.EXACT]: 'is',
  [MatchType.GLOB]: 'matches the pattern',
  [MatchType.REGEX]: 'matches the expression',
};

function renderMembership(grant: GroupGrant['memberships'][number], groupsClaim: string): string {
  if (grant.source === MembershipSource.ADMIN) return '<li>assigned by an administrator</li>';
  const rule = grant.rule;
  if (!rule) return '<li>single sign-on mapping rule</li>';
  const claim = rule.claim ?? groupsClaim;
  const value =
    grant.claimValue !== null
      ? `, matched by <code>${e(grant.claimValue)}</code> at your last single sign-on`
      : ', which your last single sign-on no longer matches';
  return `<li>single sign-on: mapping rule #${e(rule.id)} — claim <code>${e(claim)}</code> ${e(MATCH_WORDS[rule.matchType as MatchType])}${rule.caseSensitive ? '' : ' (any case)'} <code>${e(rule.pattern)}</code>${value}</li>`;
}

function renderGroups(groups: GroupGrant[], groupsClaim: string): string {
  if (!groups.length) return '<p class="muted">You are in no group.</p>';
  const items = groups.map(
    (group) =>
      `<li><strong>${e(group.groupName)}</strong><ul>${group.memberships.map((m) => renderMembership(m, groupsClaim)).join('')}</ul></li>`,
  );
  return `<ul class="groups">${items.join('')}</ul>`;
}

function renderPermissions(permissions: string[], user: User): string {
  if (!permissions.length) return '<p class="muted">You have no permission.</p>';
  const names = new Map(ALL_PERMISSIONS.map((p) => [p.fullName as string, p.name]));
  const byApp = new Map<string, string[]>();
  for (const permission of permissions) {
    const app = permission.slice(0, permission.indexOf('.'));
    byApp.set(app, [...(byApp.get(app) ?? []), permission]);
  }
  const note = user.isSuperuser ? '<p class="muted">As a superuser you have every permission.</p>' : '';
  const apps = [...byApp].map(
    ([app, perms]) =>
      `<li><strong>${e(app)}</strong><ul>${perms.map((p) => `<li><code>${e(p)}</code> <span class="muted">${e(names.get(p) ?? '')}</span></li>`).join('')}</ul></li>`,
  );
  return `${note}<ul class="permissions">${apps.join('')}</ul>`;
}

function renderSessions(sessions: Session[], current: Session): string {
  const rows = sessions.map((s) => {
    const isCurrent = s.id === current.id;
    const how = s.authMethod === AuthMethod.OIDC ? 'single sign-on' : 'password';
    const action = isCurrent
      ? '<span class="tag">this browser</span>'
      : `<form method="post" action="/account/sessions/end"><input type="hidden" name="session" value="${e(s.id)}"><button class="secondary" type="submit">Sign out this one</button></form>`;
    const agent = s.userAgent.length > 90 ? `${s.userAgent.slice(0, 90)}…` : s.userAgent;
    return `<tr data-session="${e(s.id)}"><td>${e(how)}</td><td class="time">${e(when(s.createdAt))}</td><td class="time">${e(when(s.lastSeenAt))}</td><td>${e(s.ipAddress || '—')}</td><td title="${e(s.userAgent)}">${e(agent || '—')}</td><td>${action}</td></tr>`;
  });
  const others = sessions.some((s) => s.id !== current.id)
    ? '<p><form method="post" action="/account/sessions/end-others"><button class="secondary" type="submit">Sign out everywhere else</button></form></p>'
    : '<p class="muted">You are signed in nowhere else.</p>';
  return `<table class="sessions"><thead><tr><th>how</th><th>signed in</th><th>last seen</th><th>address</th><th>browser</th><th></th></tr></thead><tbody>${rows.join('')}</tbody></table>${others}`;
}

function renderExplorers(config: Config): string {
  const links: string[] = [];
  if (config.GRAPHQL_EXPLORER !== 'none')
    links.push('<a href="/graphiql">GraphiQL</a> <span class="muted">(served by Gatehouse, works offline)</span>');
  if (config.GRAPHQL_EXPLORER === 'sandbox')
    links.push('<a href="/graphql">Apollo Sandbox</a> <span class="muted">(loads from Apollo’s servers)</span>');
  if (!links.length) return '<p class="muted">The explorers are off here; the API is at <code>/graphql</code>.</p>';
  return `<p>Queries run as you, with this session: ${links.join(' · ')}</p>`;
}

/** The account page's HTML; every value from the database or the request is escaped. */
export function renderAccountPage(account: Account, options: { config: Config; notice: string | null }): string {
  const { user, session } = account;
  const name = `${user.firstName} ${user.lastName}`.trim();
  const how =
    session.authMethod === AuthMethod.OIDC ? `single sign-on${account.issuer ? ` at <code>${e(account.issuer)}</code>` : ''}` : 'password';
  const flags = [user.isSuperuser ? 'superuser' : null, user.isStaff ? 'staff' : null].filter(Boolean).join(', ') || 'neither';
  const notice = options.notice ? `<p class="notice" role="status">${e(options.notice)}</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Your account · Gatehouse</title><style>${STYLE}</style></head>
<body><main><header><h1>Signed in as ${e(user.username)}</h1>
<form method="post" action="/oidc/logout/"><button type="submit">Sign out</button></form></header>${notice}
<dl class="who"><dt>Username</dt><dd>${e(user.username)}</dd><dt>Name</dt><dd>${e(name || '—')}</dd>
<dt>E-mail</dt><dd>${e(user.email || '—')}</dd><dt>Signed in with</dt><dd>${how}</dd>
<dt>Superuser, staff</dt><dd>${e(flags)}</dd></dl>
<h2>GraphQL explorer</h2>${renderExplorers(options.config)}
<h2>Your groups</h2>${renderGroups(account.groups, account.groupsClaim)}
<h2>Your permissions</h2>${renderPermissions(account.permissions, user)}
<h2>Your sessions</h2>${renderSessions(account.sessions, session)}
</main></body></html>`;
}
