import express, { type RequestHandler, type Router } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../config/logger';
import type { GatehouseMetrics } from '../metrics/metrics';

/**
 * `GET /metrics` in the Prometheus text format. With a `token`, only to requests carrying
 * `Authorization: Bearer <token>`: compared in constant time (both sides hashed first, so the
 * comparison does not depend on the length either); a missing or wrong token is 401 without
 * saying which.
 */
export function metricsRoutes(metrics: GatehouseMetrics, token: string | undefined, logger: Logger): Router {
  const router = express.Router();
  router.get('/metrics', ...(token ? [requireBearer(token)] : []), async (_req, res) => {
    try {
      const body = await metrics.registry.metrics();
      res.set('Cache-Control', 'no-store').type(metrics.registry.contentType).send(body);
    } catch (error) {
      logger.error({ err: error }, 'metrics could not be collected');
      res.status(500).type('text/plain').send('internal server error\n');
    }
  });
  return router;
}

function requireBearer(token: string): RequestHandler {
  const expected = digest(token);
  return (req, res, next) => {
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(req.get('authorization') ?? '');
    if (match && timingSafeEqual(digest(match[1]), expected)) return next();
    res.status(401).set('WWW-Authenticate', 'Bearer').set('Cache-Control', 'no-store').end();
  };
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** `/metrics` alone, on its own port bound to loopback (METRICS_PORT); everything else is 404. */
export async function startMetricsServer(
  metrics: GatehouseMetrics,
  options: { port: number; token?: string; logger: Logger },
): Promise<{ url: string; stop(): Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  app.use(metricsRoutes(metrics, options.token, options.logger));
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('not found\n');
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
