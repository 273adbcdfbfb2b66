import type { Request, Response } from 'express';
import type { Config } from '../config/env';

/**
 * How a session token travels. Browsers: an HttpOnly, SameSite=Lax cookie — `__Host-` prefixed
 * and Secure when PUBLIC_URL is https, so no subdomain can set or read it. API clients and
 * Apollo Sandbox: `Authorization: Bearer <token>`.
 */
export function sessionCookieName(config: Config): string {
  return isHttps(config) ? '__Host-gatehouse_session' : 'gatehouse_session';
}

function isHttps(config: Config): boolean {
  return config.PUBLIC_URL.startsWith('https://');
}

/** The session token the request carries: the bearer token if any, else the cookie. */
export function readSessionToken(req: Request, config: Config): string | null {
  const authorization = req.headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(authorization.trim());
    return match ? match[1] : null;
  }
  return readCookie(req.headers.cookie, sessionCookieName(config));
}

function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) {
      // A malformed value (`%E0%A4%A`) is no session: the request is anonymous, not a server fault.
      try {
        return decodeURIComponent(part.slice(index + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

export function setSessionCookie(res: Response, config: Config, token: string): void {
  res.cookie(sessionCookieName(config), token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: isHttps(config),
    path: '/',
    maxAge: config.SESSION_ABSOLUTE_TIMEOUT * 1000,
  });
}

export function clearSessionCookie(res: Response, config: Config): void {
  res.clearCookie(sessionCookieName(config), { httpOnly: true, sameSite: 'lax', secure: isHttps(config), path: '/' });
}
