import type { Request } from 'express';

/**
 * True when a state-changing form POST comes from Gatehouse's own pages: its `Origin` (or,
 * without one, its `Referer`) is PUBLIC_URL's origin. SameSite cookies do not stop login CSRF
 * (an attacker's page signing the victim in as the attacker), because the login form needs no
 * cookie; browsers send `Origin` with every cross-origin POST, so checking it does.
 * A request with neither header is refused, and so is one whose `Sec-Fetch-Site` (Fetch
 * Metadata, sent by every current browser) says it came from anywhere but this origin.
 */
export function isSameOriginPost(req: Request, publicUrl: string): boolean {
  const site = req.get('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin') return false;
  const expected = new URL(publicUrl).origin;
  const origin = req.get('origin');
  if (origin !== undefined) return origin === expected;
  const referer = req.get('referer');
  if (!referer) return false;
  try {
    return new URL(referer).origin === expected;
  } catch {
    return false;
  }
}

/** The raw query string of the request, without the `?`. */
export function rawQuery(req: Request): string {
  const index = req.originalUrl.indexOf('?');
  return index < 0 ? '' : req.originalUrl.slice(index + 1);
}
