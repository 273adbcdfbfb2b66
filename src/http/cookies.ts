import { parse } from 'cookie';
import type { CookieOptions, Request, Response } from 'express';
import type { Config } from '../config/env';

/*
 * The cookies Gatehouse reads and writes. They are read in one place, with the `cookie` package
 * (the parser Express itself uses for `res.cookie`'s counterpart).
 */

/** Percent-decoding that never throws: a value that is not valid encoding (`%E0%A4%A`) decodes to nothing. */
function decodeOrEmpty(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return '';
  }
}

/**
 * The value of Gatehouse's cookie `name` (prefixed as `cookieName` says) in the request — the
 * first, when it is sent twice — or null when it is absent, empty or not valid percent-encoding:
 * a malformed session cookie is no session, never an error.
 */
export function readCookie(req: Pick<Request, 'headers'>, config: Config, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  return parse(header, { decode: decodeOrEmpty })[cookieName(config, name)] || null;
}

/**
 * The name of one of Gatehouse's cookies: `__Host-` prefixed when PUBLIC_URL is https, so no
 * subdomain can set or read it (a `__Host-` cookie must be Secure, Path=/ and have no Domain).
 */
function cookieName(config: Config, name: string): string {
  return isHttps(config) ? `__Host-${name}` : name;
}

/**
 * What every cookie of Gatehouse is: HttpOnly (no script reads it), SameSite=Lax (sent on a
 * top-level navigation back from the provider, not on cross-site subrequests), for the whole
 * site, and Secure when PUBLIC_URL is https.
 */
function cookieOptions(config: Config): CookieOptions {
  return { httpOnly: true, sameSite: 'lax', secure: isHttps(config), path: '/' };
}

function isHttps(config: Config): boolean {
  return config.PUBLIC_URL.startsWith('https://');
}

/** Sets cookie `name` (prefixed as `cookieName` says) to `value` for `maxAgeMs`. */
export function setCookie(res: Response, config: Config, name: string, value: string, maxAgeMs: number): void {
  res.cookie(cookieName(config, name), value, { ...cookieOptions(config), maxAge: maxAgeMs });
}

export function clearCookie(res: Response, config: Config, name: string): void {
  res.clearCookie(cookieName(config, name), cookieOptions(config));
}

/**
 * How a session token travels. Browsers: the `gatehouse_session` cookie (`__Host-` prefixed and
 * Secure over https). API clients and Apollo Sandbox: `Authorization: Bearer <token>`.
 */
const SESSION_COOKIE = 'gatehouse_session';

/** The session token the request carries: the bearer token if any, else the cookie. */
export function readSessionToken(req: Request, config: Config): string | null {
  const authorization = req.headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(authorization.trim());
    return match ? match[1] : null;
  }
  return readCookie(req, config, SESSION_COOKIE);
}

export function setSessionCookie(res: Response, config: Config, token: string): void {
  setCookie(res, config, SESSION_COOKIE, token, config.SESSION_ABSOLUTE_TIMEOUT * 1000);
}

export function clearSessionCookie(res: Response, config: Config): void {
  clearCookie(res, config, SESSION_COOKIE);
}
