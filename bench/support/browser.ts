import { Browser } from '../../test/support/browser';

/**
 * A browser behind its own client address: every request carries `X-Forwarded-For` (Gatehouse
 * runs with TRUST_PROXY=loopback in the bench, as behind a reverse proxy), so each simulated
 * person counts against their own single sign-on attempt limit, as real people would.
 */
export class ClientBrowser extends Browser {
  constructor(private readonly clientAddress: string) {
    super();
  }

  override request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('x-forwarded-for', this.clientAddress);
    return super.request(url, { ...init, headers });
  }
}

/** A distinct private address for person `n`. */
export const clientAddress = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
