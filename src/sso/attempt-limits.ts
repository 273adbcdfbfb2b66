import { isIPv4, isIPv6 } from 'node:net';

/**
 * Login transactions one client address may have stored at once. Each GET of
 * `/oidc/authenticate/` stores one until it is used or expires (10 minutes); beyond this many for
 * one address the oldest are deleted as new ones arrive, so an anonymous client can make
 * Gatehouse store at most this many rows, and is never refused: refusing the address would
 * refuse single sign-on to everyone behind it (an office's NAT, or every client when a proxy is
 * not named in TRUST_PROXY). A flood can only age out the attempts of its own address, and would
 * need to start this many within the half-minute a person takes at the provider.
 */
export const MAX_PENDING_PER_CLIENT = 100;

/**
 * The key a client's attempts are bounded under: its IPv4 address (also when it arrives
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
