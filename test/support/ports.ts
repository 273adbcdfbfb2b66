import { createServer, type Server } from 'node:net';

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** A TCP port free on 127.0.0.1 right now (to build a URL before the server that will own it listens). */
export async function freePort(): Promise<number> {
  const server = await listen(0);
  const { port } = server.address() as { port: number };
  await close(server);
  return port;
}

/** A port free on 127.0.0.1 whose successor is free too (the development IdP listens on PORT+1). */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await listen(0);
    const port = (first.address() as { port: number }).port;
    const second = port < 65535 ? await listen(port + 1).catch(() => null) : null;
    await close(first);
    if (second) {
      await close(second);
      return port;
    }
  }
  throw new Error('found no two consecutive free ports on 127.0.0.1');
}
