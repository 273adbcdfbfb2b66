import { parse } from 'cookie';
import type { Request, Response } from 'express';
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
 * The value of cookie `name` in the request (the first, when it is sent twice), or null when it
 * is absent, empty or not valid percent-encoding — a malformed session cookie is no session,
 * never an error.
 */
export function readCookie(req: Pick<Request, 'headers'>, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  return parse(header, { decode: decodeOrEmpty })[name] || null;
}

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
  return readCookie(req, sessionCookieName(config));
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
