import { formatCheck, warningsIn } from './checks';
import type { Config } from './config/env';
import { insecureDefaults, relaxedChecks } from './config/insecure-defaults';
import type { Logger } from './config/logger';
import { openDatabase, type Database } from './db/database';
import { migrate } from './db/migrate';
import { poolUsage } from './db/orm';
import type { GatehouseServices } from './graphql/context';
import { checkSchema } from './graphql/access';
import { buildGatehouseSchema } from './graphql/schema';
import { createLoginThrottle } from './sessions/login-throttle';
import { startHousekeeping, type HousekeepingSchedule } from './db/housekeeping';
import { startHttpServer, type HttpServer } from './http/server';
import { letYoungGenerationGrow } from './config/heap';
import { scimDirectoryGroups } from './scim/directory';
import type { RetryPolicy } from './sso/relying-party';
import { startSso, type ProviderHandle } from './sso/sso.service';

export interface Gatehouse {
  readonly db: Database;
  readonly http: HttpServer;
  stop(): Promise<void>;
}

/**
 * Starts the service: runs the system checks of the schema (refusing to start on an error,
 * logging each warning once), opens the database, applies migrations, synchronises permissions, then listens.
 */
export async function startGatehouse(
  config: Config,
  logger: Logger,
  options: {
    onQuery?: (sql: string) => void;
    enforce?: boolean;
    /** Single sign-on: the provider to start when OIDC_ISSUER is unset (development IdP), and the discovery retry policy. */
    sso?: { devProvider?: () => Promise<ProviderHandle>; retry?: RetryPolicy };
    /** When the periodic purge of expired rows runs (default: 30 s after start, then every 10 minutes). */
    housekeeping?: HousekeepingSchedule;
  } = {},
): Promise<Gatehouse> {
  const started = performance.now();
  const schema = await buildGatehouseSchema({ enforce: options.enforce });
  const db = await openDatabase(config, logger, { onQuery: options.onQuery });
  let http: HttpServer | undefined;
  let stopSso: () => Promise<void> = async () => undefined;
  const sessionPolicy = { idleTimeout: config.SESSION_IDLE_TIMEOUT, absoluteTimeout: config.SESSION_ABSOLUTE_TIMEOUT };
  try {
    const migrated = await migrate(db.orm);
    if (migrated.applied.length) logger.info({ migrations: migrated.applied }, 'applied migrations');
    if (migrated.permissions.created || migrated.permissions.updated) logger.info(migrated.permissions, 'synchronised permissions');
    // With no OIDC_ISSUER, development (not test, not production) gets the built-in IdP on PORT+1:
    // a stable port keeps its issuer, hence the users' (issuer, sub) identities, across restarts.
    // Its code is loaded only then.
    const devProvider =
      options.sso?.devProvider ??
      (config.NODE_ENV === 'development'
        ? () => {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const idp = require('./sso/dev-idp/dev-identity-provider') as typeof import('./sso/dev-idp/dev-identity-provider');
            return idp.startDevIdentityProvider({
              publicUrl: config.PUBLIC_URL,
              logger,
              nodeEnv: config.NODE_ENV,
              port: config.PORT === 0 ? 0 : config.PORT + 1,
            });
          }
        : undefined);
    // Off (no registry, no hooks) unless /metrics is served somewhere; prom-client is loaded only then.
    const metrics =
      config.METRICS_TOKEN !== undefined || config.METRICS_PORT !== undefined
        ? // eslint-disable-next-line @typescript-eslint/no-require-imports
          (require('./metrics/metrics') as typeof import('./metrics/metrics')).createMetrics({ pool: () => poolUsage(db.orm) })
        : undefined;
    const sso = await startSso(config, logger, sessionPolicy, {
      ...options.sso,
      devProvider,
      directoryGroups: scimDirectoryGroups,
      metrics,
    });
    const usesBuiltInProvider = !options.sso?.devProvider && config.NODE_ENV === 'development' && !config.OIDC_ISSUER;
    if (usesBuiltInProvider) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { seedForDevelopmentProvider } = require('./sso/dev-idp/dev-seed') as typeof import('./sso/dev-idp/dev-seed');
      await seedForDevelopmentProvider(db.orm.em.fork(), logger);
    }
    stopSso = sso.stop;
    const services: GatehouseServices = {
      config,
      logger,
      sessionPolicy,
      loginThrottle: createLoginThrottle(db.orm),
      sso: sso.sso,
      metrics,
    };
    http = await startHttpServer({ services, db, schema });
    // Migrated and listening: `gatehouse` commands run beside this process may now come in through it.
    db.announce();
  } catch (error) {
    await stopSso().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw error;
  }
  for (const warning of warningsIn(checkSchema(schema))) logger.warn({ check: warning.id }, formatCheck(warning));
  const insecure = insecureDefaults(config);
  if (insecure.length)
    logger.warn({ insecureDefaults: insecure }, `development defaults on (${insecure.length}); do not run like this in production`);
  const relaxed = relaxedChecks(config);
  if (relaxed.length) logger.warn({ relaxedChecks: relaxed }, `single sign-on checks relaxed (${relaxed.length}); see SECURITY.md`);
  logger.info(
    { url: `${http.url}/graphql`, publicUrl: config.PUBLIC_URL, database: db.kind, readyInMs: Math.round(performance.now() - started) },
    'Gatehouse is ready',
  );
  letYoungGenerationGrow();
  const server = http;
  const housekeeping = startHousekeeping({
    fork: () => db.orm.em.fork(),
    policy: sessionPolicy,
    logger,
    schedule: options.housekeeping,
    signInRetentionDays: config.AUDIT_SIGNIN_RETENTION_DAYS,
  });
  return {
    db,
    http: server,
    async stop() {
      await server.stop();
      await housekeeping.stop();
      await stopSso();
      await db.close();
    },
  };
}
