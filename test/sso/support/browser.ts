import { createServer } from 'node:net';

/**
 * A browser stand-in over real HTTP: fetch with `redirect: 'manual'` and a cookie jar. All
 * servers in the tests are on 127.0.0.1 and cookies do not depend on the port, so one jar
 * holds them all (their names do not collide).
 */
export class Browser {
  readonly jar = new Map<string, string>();

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.jar.size) headers.set('cookie', [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired = attributes.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && new Date(a.split('=')[1]).getTime() < Date.now()),
      );
      if (expired || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return response;
  }

  get(url: string): Promise<Response> {
    return this.request(url);
  }

  /** Follows redirects from `url` until `stop(url)` says so (returning that URL unvisited) or a non-redirect answer. */
  async follow(url: string, stop: (url: string) => boolean, maxHops = 15): Promise<{ url: string; response: Response | null }> {
    let current = url;
    for (let hop = 0; hop < maxHops; hop++) {
      if (stop(current)) return { url: current, response: null };
      const response = await this.get(current);
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return { url: current, response };
      current = new URL(location, current).href;
    }
    throw new Error(`too many redirects from ${url}`);
  }
}

/** A TCP port free on 127.0.0.1 right now (to build PUBLIC_URL before Gatehouse listens). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
