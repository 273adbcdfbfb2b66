import { startGatehouse } from '../app';
import type { Command } from './main';

export const serveCommand: Command = {
  summary: 'run the service (applies migrations first)',
  usage: 'gatehouse serve',
  options: {},
  async run({ config, logger }) {
    const gatehouse = await startGatehouse(config, logger);
    await new Promise<void>((resolve) => {
      const shutdown = (signal: string) => {
        logger.info({ signal }, 'shutting down');
        gatehouse.stop().then(resolve, (error) => {
          logger.error({ err: error }, 'error while shutting down');
          resolve();
        });
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });
  },
};
