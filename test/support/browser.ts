/*
 * The one browser stand-in of the tests: fetch with `redirect: 'manual'` and a cookie jar kept
 * per host, as browsers keep it (cookies ignore the port, so `127.0.0.1:4001` and
 * `127.0.0.1:4000` share one jar while `localhost:4000` has its own). Cookies are host-only and
 * sent when their `Path` matches; enough for Gatehouse and oidc-provider, which set no `Domain`.
 */

/** The host every in-process test server listens on: the default of the cookie accessors. */
const LOOPBACK = '127.0.0.1';

interface StoredCookie {
  value: string;
  path: string;
}

/** Where a chain of redirects ended: the last response, the URL that answered it, and the redirect not followed. */
export interface Followed {
  url: URL;
  response: Response;
  /** The target of the last response's redirect when `keepGoing` refused it; null when it was no redirect. */
  next: URL | null;
}

export class Browser {
  private readonly jars = new Map<string, Map<string, StoredCookie>>();

  /** The cookies this browser holds for `host` (a host name, without the port). */
  cookies(host = LOOPBACK): Record<string, string> {
    return Object.fromEntries([...this.jar(host)].map(([name, cookie]) => [name, cookie.value]));
  }

  /** The value of one cookie held for `host`. */
  cookie(name: string, host = LOOPBACK): string | undefined {
    return this.jar(host).get(name)?.value;
  }

  /** Puts a cookie in the jar as a page could not (to tamper with one), keeping the path of the one it replaces. */
  setCookie(name: string, value: string, host = LOOPBACK): void {
    this.jar(host).set(name, { value, path: this.jar(host).get(name)?.path ?? '/' });
  }

  deleteCookie(name: string, host = LOOPBACK): void {
    this.jar(host).delete(name);
  }

  async request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    const headers = new Headers(init.headers);
    const sent = [...this.jar(target.hostname)].filter(([, cookie]) => pathMatches(target.pathname, cookie.path));
    if (sent.length) headers.set('cookie', sent.map(([name, cookie]) => `${name}=${cookie.value}`).join('; '));
    const response = await fetch(target, { ...init, headers, redirect: 'manual' });
    this.store(target, response);
    return response;
  }

  get(url: string | URL, headers?: Record<string, string>): Promise<Response> {
    return this.request(url, { headers });
  }

  /** Submits `fields` as an HTML form would (`application/x-www-form-urlencoded`). */
  postForm(url: string | URL, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** GETs `url` and follows its redirects while `keepGoing(next)` holds. */
  async follow(url: string | URL, keepGoing: (next: URL) => boolean = () => true, maxHops = 15): Promise<Followed> {
    return this.followRedirects(url, await this.get(url), keepGoing, maxHops);
  }

  /** Follows the redirects of `response` (answered for `from`) while `keepGoing(next)` holds. */
  async followRedirects(
    from: string | URL,
    response: Response,
    keepGoing: (next: URL) => boolean = () => true,
    maxHops = 15,
  ): Promise<Followed> {
    let url = new URL(from);
    for (let hop = 0; hop < maxHops; hop++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return { url, response, next: null };
      const next = new URL(location, url);
      if (!keepGoing(next)) return { url, response, next };
      url = next;
      response = await this.get(url);
    }
    throw new Error(`more than ${maxHops} redirects from ${from}`);
  }

  private jar(host: string): Map<string, StoredCookie> {
    let jar = this.jars.get(host);
    if (!jar) this.jars.set(host, (jar = new Map()));
    return jar;
  }

  private store(target: URL, response: Response): void {
    const jar = this.jar(target.hostname);
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attribute = (key: string) => attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      const maxAge = attribute('max-age');
      const expires = attribute('expires');
      const expired = (maxAge !== undefined && Number(maxAge) <= 0) || (expires !== undefined && new Date(expires).getTime() <= Date.now());
      if (expired || value === '') jar.delete(name);
      else jar.set(name, { value, path: attribute('path') ?? defaultPath(target.pathname) });
    }
  }
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  return requestPath.startsWith(cookiePath) && (cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/');
}

// RFC 6265 §5.1.4: the directory of the request path.
function defaultPath(requestPath: string): string {
  const slash = requestPath.lastIndexOf('/');
  return slash <= 0 ? '/' : requestPath.slice(0, slash);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes the HTML character references an attribute value may hold (`&amp;`, `&#39;`, `&#x2F;`). */
export function decodeHtml(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] !== '#') return ENTITIES[ref.toLowerCase()] ?? whole;
    return String.fromCodePoint(ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : Number(ref.slice(1)));
  });
}

/** An HTML form as a browser would submit it: its action and the names of its inputs. */
export function readForm(html: string): { method: string; action: string; inputs: string[] } {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error(`no <form> in the page: ${html.slice(0, 300)}`);
  const attr = (attributes: string, name: string) => {
    const match = new RegExp(`\\b${name}="([^"]*)"`, 'i').exec(attributes);
    return match ? decodeHtml(match[1]) : undefined;
  };
  const inputs = [...form[2].matchAll(/<input\b([^>]*)>/gi)].map((m) => attr(m[1], 'name')).filter((name): name is string => Boolean(name));
  return { method: (attr(form[1], 'method') ?? 'get').toLowerCase(), action: attr(form[1], 'action') ?? '', inputs };
}

/**
 * The hidden fields of a page's first form, e.g. oidc-provider's self-submitting "Submitting
 * Callback" page, which a browser's script posts at once.
 */
export function readHiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const input of html.matchAll(/<input\b([^>]*)>/gi)) {
    const name = /\bname="([^"]*)"/i.exec(input[1])?.[1];
    const value = /\bvalue="([^"]*)"/i.exec(input[1])?.[1];
    if (name && /\btype="hidden"/i.test(input[1])) fields[decodeHtml(name)] = decodeHtml(value ?? '');
  }
  return fields;
}
