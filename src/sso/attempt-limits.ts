import type { MikroORM } from '@mikro-orm/postgresql';
import { isIPv4, isIPv6 } from 'node:net';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { createThrottle } from '../sessions/login-throttle';

/**
 * Single sign-on attempts one client may start within `SSO_ATTEMPT_WINDOW` seconds. Each
 * attempt stores a login transaction until it is used or expires, so this bounds what an
 * anonymous client can make Gatehouse write; a person signing in needs one or two.
 */
export const SSO_ATTEMPTS_PER_CLIENT = 30;
export const SSO_ATTEMPT_WINDOW = 5 * 60;

/**
 * Counts single sign-on attempts per client address in PostgreSQL, beside the failed password
 * sign-ins (`createThrottle`, its own key prefix), so every instance sees the same counts.
 */
export function createAttemptLimiter(
  orm: MikroORM,
  limits: { points: number; duration: number } = { points: SSO_ATTEMPTS_PER_CLIENT, duration: SSO_ATTEMPT_WINDOW },
): RateLimiterAbstract {
  return createThrottle(orm, { keyPrefix: 'sso_attempt', ...limits });
}

/**
 * The key a client's attempts are counted under: its IPv4 address (also when it arrives
 * IPv4-mapped, `::ffff:192.0.2.1`), or the /64 prefix of its IPv6 address — one host usually
 * holds a whole /64, so counting single IPv6 addresses would not limit it at all.
 *
 * @example clientKey('2001:db8:1:2::9') === clientKey('2001:db8:1:2:aaaa::1') // '2001:db8:1:2::/64'
 */
export function clientKey(address: string): string {
  const bare = address.replace(/%.*$/, ''); // an IPv6 zone (fe80::1%eth0) names an interface, not a host
  if (isIPv4(bare)) return bare;
  if (!isIPv6(bare)) return 'unknown';
  const groups = ipv6Groups(bare);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number);
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const [head, rest] = text.split('::');
  if (rest === undefined) return parse(head);
  const before = parse(head);
  const after = parse(rest);
  return [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
}
