import express, { type Response, type Router } from 'express';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Database } from '../db/database';
import type { GatehouseServices } from '../graphql/context';
import { readSessionToken } from './cookies';
import { resolveSession } from '../sessions/sessions.service';

/**
 * GraphiQL, served by Gatehouse itself from the npm packages: the page, its scripts and its
 * stylesheet all come from this origin, so the explorer works on a network without internet.
 * Queries carry the session cookie.
 *
 * GraphiQL 3's prebuilt browser bundle on React 18's (about 1.1 MB of script, no build step)
 * rather than GraphiQL 5, which has to be bundled at install (with the Monaco editor and its
 * workers, about 6.5 MB of script from some 220 MB of packages) and whose editor adds style
 * elements at run time that a strict Content-Security-Policy would have to let through.
 */

const packageDir = (name: string) => path.dirname(require.resolve(`${name}/package.json`));

/** The only files under `/graphiql/assets/`: a fixed table, never a path taken from the URL. */
const ASSETS: Record<string, string> = {
  'react.production.min.js': path.join(packageDir('react'), 'umd', 'react.production.min.js'),
  'react-dom.production.min.js': path.join(packageDir('react-dom'), 'umd', 'react-dom.production.min.js'),
  'graphiql.min.js': path.join(packageDir('graphiql'), 'graphiql.min.js'),
  'graphiql.min.css': require.resolve('graphiql/style.css'),
  'graphiql-start.js': path.join(__dirname, 'graphiql-start.js'),
};

/** The explorer's place on the page; the colours and font of the sign-in page. */
const STYLE = `html,body{height:100%;margin:0}
body{display:flex;flex-direction:column;font-family:system-ui,sans-serif;background:#f4f5f7}
header.gatehouse{display:flex;align-items:baseline;gap:.8rem;padding:.55rem 1rem;background:#fff;box-shadow:0 1px 4px rgba(0,0,0,.15);z-index:1}
header.gatehouse h1{font-size:1.1rem;margin:0}header.gatehouse span{color:#555;font-size:.9rem}
#graphiql{flex:1;min-height:0}`;
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/**
 * Scripts and stylesheets from this origin only, the one inline stylesheet by its hash, fonts and
 * icons as `data:` URLs (GraphiQL's stylesheet embeds them), requests to this origin only.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  `style-src 'self' 'sha256-${STYLE_HASH}'`,
  'font-src data:',
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>GraphQL explorer · Gatehouse</title>
<link rel="stylesheet" href="/graphiql/assets/graphiql.min.css"><style>${STYLE}</style></head>
<body><header class="gatehouse"><h1>Gatehouse</h1><span>GraphQL explorer · queries run as you, with your session</span></header>
<div id="graphiql" data-endpoint="/graphql">Loading the explorer…</div>
<script src="/graphiql/assets/react.production.min.js"></script>
<script src="/graphiql/assets/react-dom.production.min.js"></script>
<script src="/graphiql/assets/graphiql.min.js"></script>
<script src="/graphiql/assets/graphiql-start.js"></script>
</body></html>`;

const PAGE_HEADERS = {
  'Content-Security-Policy': CSP,
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
};

/** Where a browser without a session is sent: the sign-in page, returning here. */
export const GRAPHIQL_SIGN_IN = '/login?next=%2Fgraphiql';

/**
 * `GET /graphiql` (signed in: the explorer; signed out: a 303 to the sign-in page, which returns
 * here) and `GET /graphiql/assets/<file>`.
 */
export function graphiqlRoutes(deps: { services: GatehouseServices; db: Database }): Router {
  const { services, db } = deps;
  const router = express.Router();

  router.get('/graphiql', async (req, res) => {
    const token = readSessionToken(req, services.config);
    const session = token ? await resolveSession(db.orm.em.fork(), token, services.sessionPolicy) : null;
    if (!session) {
      res.set('Cache-Control', 'no-store').redirect(303, GRAPHIQL_SIGN_IN);
      return;
    }
    sendPage(res);
  });

  router.get('/graphiql/assets/:file', (req, res, next) => {
    if (!Object.hasOwn(ASSETS, req.params.file)) return next();
    res.sendFile(ASSETS[req.params.file], {
      // Revalidated with the ETag on every load: a new Gatehouse may bring new versions.
      headers: { 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff', 'Cross-Origin-Resource-Policy': 'same-origin' },
    });
  });

  return router;
}

function sendPage(res: Response): void {
  res.status(200).set(PAGE_HEADERS).type('html').send(PAGE);
}
