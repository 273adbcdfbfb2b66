import type { Config } from './config/env';
import type { Logger } from './config/logger';
import { openDatabase, type Database } from './db/database';
import { migrate } from './db/migrate';
import type { GatehouseServices } from './graphql/context';
import { buildGatehouseSchema } from './graphql/schema';
import { createLoginThrottle } from './sessions/login-throttle';
import { startHttpServer, type HttpServer } from './http/server';

export interface Gatehouse {
  readonly db: Database;
  readonly http: HttpServer;
  stop(): Promise<void>;
}

/**
 * Starts the service: checks the schema's access declarations (refusing to start on a gap),
 * opens the database, applies migrations, synchronises permissions, then listens.
 */
export async function startGatehouse(config: Config, logger: Logger, options: { onQuery?: (sql: string) => void; enforce?: boolean } = {}): Promise<Gatehouse> {
  const started = performance.now();
  const schema = await buildGatehouseSchema({ enforce: options.enforce });
  const db = await openDatabase(config, logger, { onQuery: options.onQuery });
  let http: HttpServer | undefined;
  try {
    const migrated = await migrate(db.orm);
    if (migrated.applied.length) logger.info({ migrations: migrated.applied }, 'applied migrations');
    if (migrated.permissions.created || migrated.permissions.updated) logger.info(migrated.permissions, 'synchronised permissions');
    const services: GatehouseServices = {
      config,
      logger,
      sessionPolicy: { idleTimeout: config.SESSION_IDLE_TIMEOUT, absoluteTimeout: config.SESSION_ABSOLUTE_TIMEOUT },
      loginThrottle: createLoginThrottle(db.orm),
    };
    http = await startHttpServer({ services, db, schema });
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  logger.info({ url: `${http.url}/graphql`, publicUrl: config.PUBLIC_URL, database: db.kind, readyInMs: Math.round(performance.now() - started) }, 'Gatehouse is ready');
  const server = http;
  return {
    db,
    http: server,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
