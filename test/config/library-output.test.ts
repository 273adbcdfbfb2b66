import { execFile } from 'node:child_process';
import path from 'node:path';
import pino from 'pino';
import { NOT_APPLICABLE, routeLibraryOutputToLog } from '../../src/config/library-output';

const ROOT = path.resolve(__dirname, '..', '..');

type Line = Record<string, unknown> & { level: number; msg: string };

/** A JSON logger writing into `lines`, as `gatehouse serve`'s writes to stdout. */
function memoryLogger() {
  const lines: Line[] = [];
  const logger = pino({ level: 'debug', base: { service: 'gatehouse' } }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('routeLibraryOutputToLog', () => {
  const methods = ['error', 'warn', 'info', 'log', 'debug', 'trace'] as const;
  let printed: Record<(typeof methods)[number], jest.Mock>;
  let saved: Record<string, unknown>;
  let restore: () => void;
  let lines: Line[];
  let warningListeners: unknown[];

  beforeEach(() => {
    warningListeners = process.listeners('warning');
    saved = Object.fromEntries(methods.map((method) => [method, console[method]]));
    printed = Object.fromEntries(methods.map((method) => [method, jest.fn()])) as typeof printed;
    Object.assign(console, printed);
    const memory = memoryLogger();
    lines = memory.lines;
    restore = routeLibraryOutputToLog(memory.logger);
  });
  afterEach(() => {
    restore();
    Object.assign(console, saved);
  });

  const nothingPrinted = () => methods.every((method) => printed[method].mock.calls.length === 0);

  it('logs oidc-provider’s "Unsupported runtime" warning at debug with why it does not apply, printing nothing', () => {
    // As oidc-provider prints it on a terminal: bold red.
    console.warn('\x1b[31;1moidc-provider WARNING: Unsupported runtime. Use Node.js v22.x LTS, or a later LTS release.\x1b[0m');
    expect(lines).toEqual([
      expect.objectContaining({
        level: 20,
        service: 'gatehouse',
        source: 'oidc-provider',
        notApplicable: NOT_APPLICABLE[0].reason,
        msg: 'Unsupported runtime. Use Node.js v22.x LTS, or a later LTS release.',
      }),
    ]);
    expect(nothingPrinted()).toBe(true);
  });

  it('logs the in-memory adapter warning of the development identity provider at debug', () => {
    console.warn('oidc-provider WARNING: a quick start development-only in-memory adapter is used, you MUST change it');
    expect(lines).toEqual([expect.objectContaining({ level: 20, source: 'oidc-provider', notApplicable: NOT_APPLICABLE[1].reason })]);
  });

  it('logs any other library line at the level of the console method, naming the library when the line does', () => {
    console.warn('oidc-provider WARNING: already parsed request body detected');
    console.info('oidc-provider NOTICE: default ttl.IdToken function called, you SHOULD change it');
    console.error('something broke: %s (%d)', 'disk', 28);
    console.log({ plain: 'object' });
    console.debug('verbose detail');
    expect(lines.map(({ level, source, msg }) => ({ level, source, msg }))).toEqual([
      { level: 40, source: 'oidc-provider', msg: 'already parsed request body detected' },
      { level: 30, source: 'oidc-provider', msg: 'default ttl.IdToken function called, you SHOULD change it' },
      { level: 50, source: 'console', msg: 'something broke: disk (28)' },
      { level: 30, source: 'console', msg: "{ plain: 'object' }" },
      { level: 20, source: 'console', msg: 'verbose detail' },
    ]);
    expect(nothingPrinted()).toBe(true);
  });

  it('logs Node’s process warnings instead of Node printing them to stderr', async () => {
    // Node emits warnings on the real process, which jest hides from a test: a process of its own.
    const script = `
      const { createLogger } = require('./src/config/logger.ts');
      const { routeLibraryOutputToLog } = require('./src/config/library-output.ts');
      routeLibraryOutputToLog(createLogger('debug'));
      process.emitWarning('this API is going away', { type: 'DeprecationWarning', code: 'GH0001' });
      console.warn('oidc-provider WARNING: Unsupported runtime. Use Node.js v22.x LTS, or a later LTS release.');`;
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(
        process.execPath,
        ['-r', '@swc-node/register', '-e', script],
        { cwd: ROOT, env: { ...process.env, SWCRC: 'true', TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') } },
        (error, out, err) => (error ? reject(error) : resolve({ stdout: out, stderr: err })),
      ),
    );
    expect(stderr).toBe('');
    const logged = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Line);
    expect(logged).toEqual([
      expect.objectContaining({
        level: 20,
        source: 'oidc-provider',
        msg: 'Unsupported runtime. Use Node.js v22.x LTS, or a later LTS release.',
      }),
      expect.objectContaining({
        level: 40,
        source: 'node',
        warning: { name: 'DeprecationWarning', code: 'GH0001' },
        msg: 'this API is going away',
      }),
    ]);
  });

  it('puts the console and Node’s warning printers back when restored', () => {
    const routedWarn = console.warn;
    restore();
    restore = () => undefined;
    expect(console.warn).not.toBe(routedWarn);
    expect(console.warn).toBe(printed.warn);
    expect(process.listeners('warning')).toEqual(warningListeners);
    console.warn('printed again');
    expect(printed.warn).toHaveBeenCalledWith('printed again');
    expect(lines).toEqual([]);
  });
});
