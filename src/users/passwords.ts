import { hash, verify, Algorithm } from '@node-rs/argon2';

/**
 * argon2id at OWASP's recommended minimum (m = 19 MiB, t = 2, p = 1). The parameters live in
 * the stored hash, so raising them later keeps old hashes verifiable.
 */
const OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** Passwords shorter than this are refused. */
export const MIN_PASSWORD_LENGTH = 8;

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
