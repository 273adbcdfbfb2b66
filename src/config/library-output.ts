import { format } from 'node:util';
import type { Logger } from './logger';

/**
 * Notices that libraries print and that Gatehouse knows do not apply to it, each with the
 * reason. They are still logged, at debug level.
 */
export const NOT_APPLICABLE: ReadonlyArray<{ readonly pattern: RegExp; readonly reason: string }> = [
  {
    pattern: /^oidc-provider WARNING: Unsupported runtime\b/,
    reason: 'Gatehouse supports Node.js 20.19 and later (package.json engines) and is tested with oidc-provider on it',
  },
  {
    pattern: /^oidc-provider WARNING: a quick start development-only in-memory adapter is used\b/,
    reason: 'only the development identity provider runs oidc-provider, and it keeps nothing across restarts by design',
  },
];

const LEVELS = { error: 'error', warn: 'warn', info: 'info', log: 'info', debug: 'debug', trace: 'debug' } as const;
type ConsoleMethod = keyof typeof LEVELS;

/**
 * Makes the process's output JSON lines only (for `gatehouse serve`): whatever libraries print
 * with `console.*` (oidc-provider's notices, for one) and Node's process warnings go into the
 * JSON log instead of plain lines on stdout or stderr. A line that names its library
 * (`oidc-provider WARNING: …`) is logged with `source: "oidc-provider"`; the notices in
 * `NOT_APPLICABLE` go to debug level with their reason.
 *
 * @returns a function that puts the console and Node's own warning printer back.
 * @example
 *   const restore = routeLibraryOutputToLog(logger);
 *   console.warn('oidc-provider WARNING: …'); // {"level":40,"source":"oidc-provider","msg":"…"}
 */
export function routeLibraryOutputToLog(logger: Logger): () => void {
  const original = new Map<ConsoleMethod, (...args: unknown[]) => void>();
  for (const method of Object.keys(LEVELS) as ConsoleMethod[]) {
    original.set(method, console[method]);
    console[method] = (...args: unknown[]) => logLibraryLine(logger, LEVELS[method], format(...args));
  }
  // Node prints process warnings (deprecations, experimental features) to stderr through its
  // own 'warning' listener; it is taken off while the log carries them.
  const nodePrinters = process.listeners('warning');
  process.removeAllListeners('warning');
  const onWarning = (warning: Error & { code?: string }) =>
    logger.warn({ source: 'node', warning: { name: warning.name, code: warning.code } }, warning.message);
  process.on('warning', onWarning);
  return () => {
    for (const [method, fn] of original) console[method] = fn;
    process.removeListener('warning', onWarning);
    for (const printer of nodePrinters) process.on('warning', printer);
  };
}

function logLibraryLine(logger: Logger, level: 'error' | 'warn' | 'info' | 'debug', text: string): void {
  // eslint-disable-next-line no-control-regex -- the colour codes oidc-provider adds on a terminal
  const line = text.replace(/\x1b\[[0-9;]*m/g, '').trim();
  if (!line) return;
  const known = NOT_APPLICABLE.find((notice) => notice.pattern.test(line));
  const named = /^([a-z0-9@/._-]+) (WARNING|NOTICE|ERROR): ([\s\S]*)$/.exec(line);
  const source = named ? named[1] : 'console';
  const message = named ? named[3] : line;
  if (known) logger.debug({ source, notApplicable: known.reason }, message);
  else logger[level]({ source }, message);
}
