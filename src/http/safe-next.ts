/** Where a sign-in returns to when `next` is absent or refused: the account page. */
export const DEFAULT_NEXT = '/';

/**
 * `value` if it is a same-origin path to return to after sign-in, else `/` (the account page). The only
 * check of `next` in Gatehouse: the login page, the password form and single sign-on all use it.
 *
 * Accepted: a path starting with exactly one `/` and made of printable ASCII other than `\`,
 * whose percent-decoding does not change how a browser reads it. Refused (open redirects):
 * `//evil`, `https://evil`, `/\evil`, `javascript:…`, control characters and whitespace, and
 * encoded variants such as `/%2F%2Fevil` or `/%5Cevil`.
 *
 * @example safeNext('/graphql?x=1') // '/graphql?x=1'
 * @example safeNext('//evil.example') // '/'
 */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2000) return DEFAULT_NEXT;
  if (!isSafePath(value)) return DEFAULT_NEXT;
  let decoded: string;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    return DEFAULT_NEXT;
  }
  // Servers and proxies may decode once more: decoded, it must still be a plain local path —
  // no `//` or `\` prefix trick, no control or invisible formatting characters anywhere.
  if (!decoded.startsWith('/') || decoded.startsWith('//') || /[\p{Cc}\p{Cf}\\]/u.test(decoded)) return DEFAULT_NEXT;
  // The browser's own reading must stay on this origin and this path.
  const base = 'http://gatehouse.invalid';
  const resolved = new URL(value, base);
  if (resolved.origin !== base) return DEFAULT_NEXT;
  return value;
}

function isSafePath(value: string): boolean {
  // Printable ASCII only (no control characters, spaces or Unicode look-alikes), no backslash.
  if (!/^[\x21-\x7e]+$/.test(value) || value.includes('\\')) return false;
  return value.startsWith('/') && !value.startsWith('//');
}
