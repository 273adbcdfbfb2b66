import { startGatehouse } from '../app';
import { compileWebAssemblyBaselineOnly } from '../config/heap';
import { routeLibraryOutputToLog } from '../config/library-output';
import type { CommandRun } from './main';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** `gatehouse serve`: runs the service until SIGINT or SIGTERM. */
export const serve: CommandRun = async ({ config, logger }) => {
  // stdout carries JSON lines only: what libraries print goes into the log.
  const restoreOutput = routeLibraryOutputToLog(logger);
  // On PostgreSQL (not the embedded database, which runs in this process as WebAssembly).
  if (config.DATABASE_URL) compileWebAssemblyBaselineOnly();
  // Listening from the start, so a signal during start-up (opening the embedded database,
  // migrating) also ends in a clean stop once the service is up, never half-way.
  let stopRequested: NodeJS.Signals | null = null;
  let wake: () => void = () => undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    // Under `npm start` a terminal's Ctrl-C arrives twice (from the terminal, and forwarded
    // by npm): the repeat must not kill the process half-way through stopping.
    if (stopRequested) return logger.info({ signal }, 'already shutting down');
    stopRequested = signal;
    logger.info({ signal }, 'shutting down');
    wake();
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  try {
    const gatehouse = await startGatehouse(config, logger);
    if (!stopRequested) await new Promise<void>((resolve) => (wake = resolve));
    // This command owns shutdown: HTTP first, then the database (and the embedded database's lock).
    await gatehouse.stop().then(
      () => logger.info('stopped'),
      (error) => logger.error({ err: error }, 'error while shutting down'),
    );
  } finally {
    for (const signal of SIGNALS) process.removeListener(signal, onSignal);
    restoreOutput();
  }
};
