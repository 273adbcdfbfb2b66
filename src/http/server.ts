import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type ErrorRequestHandler } from 'express';
import type { GraphQLSchema } from 'graphql';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Database } from '../db/database';
import { createContext, type GatehouseContext, type GatehouseServices } from '../graphql/context';
import { clearSessionCookie, readSessionToken, setSessionCookie } from '../sessions/http';
import { resolveSessionWithPermissions } from '../sessions/sessions.service';
import { createFormatError } from '../graphql/errors';
import { queryLimits } from '../graphql/limits';
import { graphiqlRoutes } from './graphiql';
import { loginPageRoutes } from './login-page';
import { oidcRoutes } from './oidc-routes';

export interface HttpServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 2000;

/** Serves `/graphql`, `/graphiql`, `/login`, `/oidc/*`, `/healthz` and `/readyz` on `HOST:PORT`. */
export async function startHttpServer(deps: { services: GatehouseServices; db: Database; schema: GraphQLSchema }): Promise<HttpServer> {
  const { services, db, schema } = deps;
  const { config, logger } = services;
  const app = express();
  app.disable('x-powered-by');
  // The client address (req.ip: sessions, the single sign-on attempt limit) comes from
  // X-Forwarded-For only through the proxies TRUST_PROXY names; redirect URIs never come from
  // forwarded headers at all (they derive from PUBLIC_URL).
  app.set('trust proxy', trustProxy(config.TRUST_PROXY));
  const httpServer = http.createServer(app);

  const development = config.NODE_ENV !== 'production';
  const limits = queryLimits();
  const apollo = new ApolloServer<GatehouseContext>({
    schema,
    introspection: development,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: !development,
    formatError: createFormatError(logger),
    // `gatehouse serve` owns shutdown (HTTP, then the database); Apollo's own signal handlers
    // would end the process before the database is closed.
    stopOnTerminationSignals: false,
    validationRules: limits.validationRules,
    allowBatchedHttpRequests: false,
    plugins: [
      // Admin data is per user and never HTTP-cacheable; the plugin would also wrap every field.
      ApolloServerPluginCacheControlDisabled(),
      ...limits.plugins,
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // GRAPHQL_EXPLORER: Sandbox is Apollo's landing page; GraphiQL is served by Gatehouse (below).
      config.GRAPHQL_EXPLORER === 'sandbox'
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: true })
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
  app.use(loginPageRoutes({ services, db }));
  app.use(oidcRoutes({ services, db }));
  if (config.GRAPHQL_EXPLORER !== 'none') app.use(graphiqlRoutes({ services, db }));
  if (config.GRAPHQL_EXPLORER === 'graphiql') {
    // A browser opening /graphql (what Apollo would answer with its landing page) gets GraphiQL.
    app.get('/graphql', (req, res, next) => {
      if (req.accepts(['application/json', 'application/graphql-response+json', 'multipart/mixed', 'text/html']) !== 'text/html')
        return next();
      res.redirect(302, '/graphiql');
    });
  }
  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const em = db.orm.em.fork();
        const token = readSessionToken(req, config);
        // A JWT (three dot-separated parts) can only be a provider-issued access token; session tokens have no dots.
        const jwt = token !== null && token.split('.').length === 3 && services.sso?.bearerTokensEnabled ? token : null;
        const resolved = token && !jwt ? await resolveSessionWithPermissions(em, token, services.sessionPolicy) : null;
        const user = jwt ? await services.sso!.authenticateBearer(em, jwt) : undefined;
        return createContext({
          em,
          session: resolved?.session ?? null,
          sessionPermissions: resolved?.permissions,
          user,
          services,
          request: {
            ipAddress: req.ip ?? '',
            userAgent: req.get('user-agent') ?? '',
            setSessionToken: (value) => setSessionCookie(res, config, value),
            clearSessionToken: () => clearSessionCookie(res, config),
          },
        });
      },
    }),
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

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.PORT, config.HOST, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    async stop() {
      await apollo.stop();
      if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
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
