import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/**
 * A TCP port free on 127.0.0.1 right now, to build a URL before the server that will own it
 * listens (a child process: seconds later). Taken below the kernel's ephemeral range: a port in
 * that range could meanwhile be handed to any socket of the machine (the tests' own outgoing
 * database connections, another server listening on port 0).
 */
export async function freePort(): Promise<number> {
  return freeRun(1);
}

/** A port free on 127.0.0.1 whose successor is free too (the development IdP listens on PORT+1). */
export async function freePortPair(): Promise<number> {
  return freeRun(2);
}

/** The first of `length` consecutive free ports below the ephemeral range, chosen at random. */
async function freeRun(length: number): Promise<number> {
  const [ephemeralLow] = ephemeralPortRange();
  const low = Math.max(1024, ephemeralLow - 12_000);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low + Math.floor(Math.random() * (ephemeralLow - low - length));
    const held: Server[] = [];
    for (let i = 0; i < length; i++) {
      const server = await listen(port + i).catch(() => null);
      if (!server) break;
      held.push(server);
    }
    await Promise.all(held.map(close));
    if (held.length === length) return port;
  }
  throw new Error(`found no ${length} consecutive free port(s) on 127.0.0.1`);
}

/** The kernel's range for ports it assigns by itself (Linux; elsewhere the usual 32768–60999). */
function ephemeralPortRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low > 1024 && high >= low) return [low, high];
  } catch {
    // not Linux
  }
  return [32768, 60999];
}
