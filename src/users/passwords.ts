import { hash, verify, Algorithm } from '@node-rs/argon2';

/**
 * argon2id at OWASP's recommended minimum (m = 19 MiB, t = 2, p = 1). The parameters live in
 * the stored hash, so raising them later keeps old hashes verifiable; a hash made with weaker
 * ones is upgraded at its owner's next successful sign-in (`needsRehash`).
 */
const OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
const ARGON2_VERSION = 19;

/** Passwords shorter than this are refused (NIST SP 800-63B asks for at least 8; Gatehouse guards admin accounts). */
export const MIN_PASSWORD_LENGTH = 12;
/** Longer passwords are refused when set, and at sign-in before any hashing (hashing a megabyte is a denial of service). */
export const MAX_PASSWORD_LENGTH = 1024;

/**
 * The common passwords refused when set: zxcvbn-ts's list of the passwords most found in
 * breaches (`@zxcvbn-ts/language-common`, 49,233 of them, lower-case), compared case-insensitively
 * as Django's CommonPasswordValidator does. Built on first use.
 */
let common: ReadonlySet<string> | undefined;
function commonPasswords(): ReadonlySet<string> {
  // Loaded on first use: the package decompresses its lists (2.4 MB of heap) when it loads,
  // which a server that never sets a password need not hold.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  common ??= new Set((require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common')).dictionary['passwords-common']);
  return common;
}

/** How many passwords the common-password list holds. */
export const commonPasswordCount = (): number => commonPasswords().size;

/** True when `password`, lower-cased, is one of the common passwords. */
export function isCommonPassword(password: string): boolean {
  return commonPasswords().has(password.toLowerCase());
}

/** Hashes `password` for storage. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** A hash of a random password, verified against when a user is unknown so that timing matches. */
let decoy: Promise<string> | undefined;

/**
 * True when `password` matches `stored`. A null `stored` (unusable password) never matches,
 * but still costs one verification, so the caller's timing does not tell the cases apart.
 */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  if (stored === null) {
    decoy ??= hashPassword(`unusable-${Math.random()}`);
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>: the PHC string format argon2 writes.
const PHC = /^\$(argon2id|argon2i|argon2d)\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;

/**
 * True when `stored` was made with weaker parameters than Gatehouse's (another argon2 variant,
 * an older version, or less memory, fewer passes or less parallelism than OPTIONS), or is not a
 * hash Gatehouse can read the parameters of: it should be replaced by `hashPassword` of the
 * password just verified. A hash stronger in every parameter is kept.
 *
 * @example needsRehash('$argon2id$v=19$m=4096,t=1,p=1$c2FsdHNhbHQ$aGFzaA') // true
 */
export function needsRehash(stored: string): boolean {
  const match = PHC.exec(stored);
  if (!match) return true;
  const [, variant, version, memory, passes, lanes] = match;
  return (
    variant !== 'argon2id' ||
    Number(version) < ARGON2_VERSION ||
    Number(memory) < OPTIONS.memoryCost ||
    Number(passes) < OPTIONS.timeCost ||
    Number(lanes) < OPTIONS.parallelism
  );
}
