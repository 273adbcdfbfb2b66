import { startGatehouse } from '../app';
import type { CommandRun } from './main';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** `gatehouse serve`: runs the service until SIGINT or SIGTERM. */
export const serve: CommandRun = async ({ config, logger }) => {
  const gatehouse = await startGatehouse(config, logger);
  // This command owns shutdown: HTTP first, then the database (and the embedded database's lock).
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      gatehouse.stop().then(
        () => {
          logger.info('stopped');
          resolve();
        },
        (error) => {
          logger.error({ err: error }, 'error while shutting down');
          resolve();
        },
      );
    };
    for (const signal of SIGNALS) process.once(signal, shutdown);
  });
};
