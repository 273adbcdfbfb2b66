import fs from 'node:fs';
import path from 'node:path';

/** A running embedded PostgreSQL (PGlite) reachable over loopback TCP. */
export interface EmbeddedPostgres {
  /** `postgres://…` URL for the pool to connect to. */
  readonly url: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/**
 * Starts PGlite on `dataDir` (created if missing, so data survives restarts) behind a
 * pglite-socket server on 127.0.0.1 with an ephemeral port.
 *
 * PGlite has a single backend session that every socket shares: a query sent on a second
 * connection while another holds a transaction waits for that transaction. The pool in front
 * of it therefore has exactly one connection (see `orm.ts`).
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create({ dataDir });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 2 });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    dataDir,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
