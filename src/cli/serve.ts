import { startGatehouse } from '../app';
import type { Command } from './main';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export const serveCommand: Command = {
  summary: 'run the service (applies migrations first); SIGINT or SIGTERM stops it cleanly',
  usage: 'gatehouse serve',
  options: {},
  async run({ config, logger }) {
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
  },
};
