import type { RequestHandler } from 'express';
import type { Config } from '../config/env';
import type { Logger } from '../config/logger';

/**
 * Warns once, at the first request that arrives through a proxy (it carries `X-Forwarded-For`
 * or `Forwarded`) while TRUST_PROXY is false: every client then has the proxy's address, which
 * sessions record and by which single sign-on bounds the attempts it stores — everyone behind
 * the proxy would share one bound. The warning names TRUST_PROXY and the proxy's address, so
 * the operator can trust exactly that proxy. The request itself is served as usual.
 */
export function warnOfUntrustedProxy(config: Pick<Config, 'TRUST_PROXY'>, logger: Logger): RequestHandler {
  let warned = config.TRUST_PROXY !== 'false';
  return (req, _res, next) => {
    if (!warned && (req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined)) {
      warned = true;
      const proxy = req.socket.remoteAddress ?? 'unknown';
      logger.warn(
        { proxy, setting: 'TRUST_PROXY' },
        `requests arrive through a proxy at ${proxy} (X-Forwarded-For) but TRUST_PROXY is false: every client counts as the proxy's address. Set TRUST_PROXY to the proxy's address or hop count (e.g. TRUST_PROXY=${proxy.replace(/^::ffff:/, '')})`,
      );
    }
    next();
  };
}
