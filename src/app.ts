import type { Config } from './config/env';
import type { Logger } from './config/logger';
import { openDatabase, type Database } from './db/database';
import { migrate } from './db/migrate';
import { buildGatehouseSchema } from './graphql/schema';
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
export async function startGatehouse(config: Config, logger: Logger): Promise<Gatehouse> {
  const started = performance.now();
  const schema = await buildGatehouseSchema();
  const db = await openDatabase(config, logger);
  let http: HttpServer | undefined;
  try {
    const migrated = await migrate(db.orm);
    if (migrated.applied.length) logger.info({ migrations: migrated.applied }, 'applied migrations');
    if (migrated.permissions.created || migrated.permissions.updated) logger.info(migrated.permissions, 'synchronised permissions');
    http = await startHttpServer({ config, logger, db, schema });
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
