import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import type * as LandingPage from '@apollo/server/plugin/landingPage/default';
import { expressMiddleware } from '@as-integrations/express5';
import type { ApolloServerPlugin } from '@apollo/server';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { GraphQLSchema } from 'graphql';
import { isUtf8 } from 'node:buffer';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../config/logger';
import type { Database } from '../db/database';
import { createContext, type GatehouseContext, type GatehouseServices } from '../graphql/context';
import { clearSessionCookie, readSessionToken, setSessionCookie } from './cookies';
import { resolveSessionWithPermissions } from '../sessions/sessions.service';
import { compiledExecution } from '../graphql/compiled-execution';
import { createFormatError } from '../graphql/errors';
import { queryLimits } from '../graphql/limits';
import { KnownOperationTypesRule } from '../graphql/operation-types';
import { metricsPlugin, timedContext } from '../graphql/metrics-plugin';
import { accountPageRoutes } from './account-page';
import { metricsRoutes, startMetricsServer } from './metrics-routes';
import { loginPageRoutes } from './login-page';
import { oidcRoutes } from './oidc-routes';
import { warnOfUntrustedProxy } from './proxy-warning';
import { SCIM_PATH } from '../scim/scim-schema';
import { loginPolicyInForce } from '../sso/settings';

export interface HttpServer {
  readonly url: string;
  readonly port: number;
  /** Where `/metrics` is served (on this port with METRICS_TOKEN, or on METRICS_PORT); null when metrics are off. */
  readonly metricsUrl: string | null;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 2000;

/** Serves `/` (the account page), `/graphql`, `/graphiql`, `/login`, `/oidc/*`, `/scim/v2/*`, `/healthz` and `/readyz` on `HOST:PORT`. */
export async function startHttpServer(deps: { services: GatehouseServices; db: Database; schema: GraphQLSchema }): Promise<HttpServer> {
  const { services, db, schema } = deps;
  const { config, logger } = services;
  const app = express();
  app.disable('x-powered-by');
  // The client address (req.ip: sessions, the single sign-on attempt limit) comes from
  // X-Forwarded-For only through the proxies TRUST_PROXY names; redirect URIs never come from
  // forwarded headers at all (they derive from PUBLIC_URL).
  app.set('trust proxy', trustProxy(config.TRUST_PROXY));
  app.use(warnOfUntrustedProxy(config, logger));
  const httpServer = http.createServer(app);

  const development = config.NODE_ENV !== 'production';
  const limits = queryLimits();
  const apollo = new ApolloServer<GatehouseContext>({
    // Operations run compiled (graphql-jit) with the schema's own resolvers and guards.
    gateway: compiledExecution(schema),
    introspection: development,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: !development,
    formatError: createFormatError(logger),
    // `gatehouse serve` owns shutdown (HTTP, then the database); Apollo's own signal handlers
    // would end the process before the database is closed.
    stopOnTerminationSignals: false,
    validationRules: [KnownOperationTypesRule, ...limits.validationRules],
    parseOptions: limits.parseOptions,
    allowBatchedHttpRequests: false,
    plugins: [
      // Admin data is per user and never HTTP-cacheable; the plugin would also wrap every field.
      ApolloServerPluginCacheControlDisabled(),
      // Inline traces are for federated subgraphs, which Gatehouse is not; left implicit, Apollo
      // would load the plugin and its protobuf module (~370 KB of source) to find that out.
      ApolloServerPluginInlineTraceDisabled(),
      noStoreResponses,
      ...limits.plugins,
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ...(services.metrics ? [metricsPlugin<GatehouseContext>(services.metrics)] : []),
      // GRAPHQL_EXPLORER: Sandbox is Apollo's landing page; GraphiQL is served by Gatehouse (below).
      // Each explorer's code is loaded only when it is served (production serves none by default).
      config.GRAPHQL_EXPLORER === 'sandbox'
        ? // eslint-disable-next-line @typescript-eslint/no-require-imports
          (require('@apollo/server/plugin/landingPage/default') as typeof LandingPage).ApolloServerPluginLandingPageLocalDefault({
            embed: true,
            includeCookies: true,
          })
        : ApolloServerPluginLandingPageDisabled(),
    ],
    logger,
  });
  await apollo.start();

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await withTimeout(db.orm.em.fork().execute('select 1'), READY_TIMEOUT_MS);
      res.json({ status: 'ready', database: db.kind });
    } catch (error) {
      logger.warn({ err: error }, 'readiness check: database unreachable');
      res.status(503).json({ status: 'unavailable', reason: 'database unreachable' });
    }
  });
  // /metrics: on its own loopback port with METRICS_PORT, else here behind METRICS_TOKEN, else nowhere.
  const metricsServer =
    services.metrics && config.METRICS_PORT !== undefined
      ? await startMetricsServer(services.metrics, { port: config.METRICS_PORT, token: config.METRICS_TOKEN, logger })
      : null;
  if (services.metrics && !metricsServer && config.METRICS_TOKEN) app.use(metricsRoutes(services.metrics, config.METRICS_TOKEN, logger));
  app.use(['/graphql', '/login', '/oidc'], noReferrer);
  app.use(loginPageRoutes({ services, db }));
  app.use(accountPageRoutes({ services, db }));
  app.use(oidcRoutes({ services, db }));
  if (config.GRAPHQL_EXPLORER !== 'none')
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    app.use((require('./graphiql') as typeof import('./graphiql')).graphiqlRoutes({ services, db }));
  if (config.GRAPHQL_EXPLORER === 'graphiql') {
    // A browser opening /graphql (what Apollo would answer with its landing page) gets GraphiQL.
    app.get('/graphql', (req, res, next) => {
      if (req.accepts(['application/json', 'application/graphql-response+json', 'multipart/mixed', 'text/html']) !== 'text/html')
        return next();
      res.redirect(302, '/graphiql');
    });
  }
  // SCIM's routes, services and PATCH engine are loaded by the first provisioning request.
  app.use(
    SCIM_PATH,
    loadedOnFirstRequest(() =>
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require('../scim/scim.routes') as typeof import('../scim/scim.routes')).scimRoutes({
        fork: () => db.orm.em.fork(),
        publicUrl: config.PUBLIC_URL,
        groupsClaim: loginPolicyInForce(config, services.sso?.settings).groupsClaim,
        logger,
      }),
    ),
  );
  app.use(
    '/graphql',
    noStore,
    express.json({ limit: '1mb', verify: refuseInvalidUtf8 }),
    expressMiddleware(apollo, {
      context: timedContext(services.metrics, async ({ req, res }) => {
        let em = db.orm.em.fork();
        const token = readSessionToken(req, config);
        // A JWT (three dot-separated parts) can only be a provider-issued access token; session tokens have no dots.
        const jwt = token !== null && token.split('.').length === 3 && services.sso?.bearerTokensEnabled ? token : null;
        let resolved = token && !jwt ? await resolveSessionWithPermissions(em, token, services.sessionPolicy) : null;
        // A single sign-on session due for refresh asks the provider first (no statement when it is not due).
        const need = resolved && services.sso ? services.sso.refreshNeed(resolved) : 'none';
        if (resolved && need !== 'none') {
          const outcome = need === 'refresh' ? await services.sso!.refreshSession(db.orm.em.fork(), resolved.session) : 'refused';
          if (outcome === 'refused') resolved = null;
          else if (outcome === 'refreshed') {
            // Its groups may have changed: read the session, user and permissions again.
            em = db.orm.em.fork();
            resolved = await resolveSessionWithPermissions(em, token!, services.sessionPolicy);
          }
        }
        const bearer = jwt ? await services.sso!.authenticateBearer(em, jwt) : undefined;
        return createContext({
          em,
          session: resolved,
          user: bearer === undefined ? undefined : (bearer?.user ?? null),
          grantedPermissions: bearer?.permissions,
          services,
          request: {
            ipAddress: req.ip ?? '',
            userAgent: req.get('user-agent') ?? '',
            sessionToken: jwt ? null : token,
            setSessionToken: (value) => setSessionCookie(res, config, value),
            clearSessionToken: () => clearSessionCookie(res, config),
          },
        });
      }),
    }),
    graphqlBodyError(logger),
  );
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const status = typeof error?.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error({ err: error }, 'unhandled HTTP error');
    res.status(status).json({ error: status === 500 ? 'internal server error' : String(error.message ?? 'bad request') });
  };
  app.use(onError);

  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.PORT, config.HOST, () => resolve());
    });
  } catch (error) {
    await metricsServer?.stop();
    throw error;
  }
  const port = (httpServer.address() as AddressInfo).port;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  return {
    url,
    port,
    metricsUrl: metricsServer?.url ?? (services.metrics && config.METRICS_TOKEN ? `${url}/metrics` : null),
    async stop() {
      await apollo.stop();
      if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await metricsServer?.stop();
    },
  };
}

/**
 * A handler built by its first request, so that the code behind a path few deployments use is
 * not loaded, nor held, by every server from its start.
 */
function loadedOnFirstRequest(build: () => RequestHandler): RequestHandler {
  let handler: RequestHandler | undefined;
  return (req, res, next) => (handler ??= build())(req, res, next);
}

/**
 * Every /graphql response is per caller — it depends on the session cookie or bearer token, and
 * the `login` mutation's answer carries a session token — so none may be kept by a browser or a
 * shared cache. `Vary` cannot express "per bearer token", and nothing on /graphql is worth
 * caching, so all of them are `no-store`: the header is set before Apollo runs (landing page,
 * refused requests), and `noStoreResponses` overrides the one Apollo sets itself (persisted
 * query errors).
 */
const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};

const noStoreResponses: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        response.http.headers.set('cache-control', 'no-store');
      },
    };
  },
};

/**
 * No Referer leaves /graphql, /login or /oidc/*: their URLs can carry a `next` path, an error
 * code or, on the callback, the authorization code. The login form's page itself says
 * `same-origin` (login-page.ts): under `no-referrer` browsers send `Origin: null` with the
 * form's POST, which the login CSRF check must refuse; its only cross-origin request is the
 * redirect to the identity provider, which leaves through /oidc/authenticate/ (no-referrer).
 */
const noReferrer: RequestHandler = (_req, res, next) => {
  res.set('Referrer-Policy', 'no-referrer');
  next();
};

/** A GraphQL request body must be UTF-8 (GraphQL over HTTP); anything else is refused, never decoded to U+FFFD. */
function refuseInvalidUtf8(_req: http.IncomingMessage, _res: http.ServerResponse, body: Buffer, encoding: string): void {
  const refuse = (status: number, message: string) => Object.assign(new Error(message), { status, type: 'encoding.invalid' });
  if (encoding.toLowerCase() !== 'utf-8') throw refuse(415, `request body must be UTF-8, not ${encoding}`);
  if (!isUtf8(body)) throw refuse(400, 'request body is not valid UTF-8');
}

/**
 * A /graphql request whose body cannot be read (not JSON, not UTF-8, too large): a GraphQL
 * error with code BAD_REQUEST and the body parser's 4xx status, logged once at info level.
 */
function graphqlBodyError(logger: Logger): ErrorRequestHandler {
  return (error, _req, res, next) => {
    const status = typeof error?.status === 'number' ? error.status : 500;
    if (status < 400 || status >= 500 || res.headersSent) return next(error);
    const message = status === 413 ? 'request body is too large' : String(error.message ?? 'bad request');
    logger.info({ code: 'BAD_REQUEST', status, error: message }, 'GraphQL request refused');
    res.status(status).json({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] });
  };
}

function trustProxy(setting: string): boolean | number | string {
  if (setting === 'false') return false;
  return /^[0-9]+$/.test(setting) ? Number(setting) : setting;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
