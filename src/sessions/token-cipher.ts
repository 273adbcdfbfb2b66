import { CompactEncrypt, compactDecrypt } from 'jose';
import { createHash } from 'node:crypto';

/**
 * Encrypts the provider tokens a session keeps (its refresh token) with SESSION_ENCRYPTION_KEY:
 * a compact JWE, `dir` with A256GCM (jose), so a copy of the sessions table yields no token that
 * the provider would accept. The header's `kid` names the key (a digest of it, not the key), so a
 * token sealed under another key is told apart from a tampered one in the log.
 */
export class TokenCipher {
  private readonly kid: string;

  constructor(private readonly key: Uint8Array) {
    if (key.length !== 32) throw new Error('the session encryption key must be 32 bytes');
    this.kid = createHash('sha256').update(key).digest('base64url').slice(0, 16);
  }

  async seal(plaintext: string): Promise<string> {
    return new CompactEncrypt(new TextEncoder().encode(plaintext))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: this.kid })
      .encrypt(this.key);
  }

  /**
   * The plaintext of `sealed`.
   *
   * @throws Error when it was sealed under another key, or altered.
   */
  async open(sealed: string): Promise<string> {
    const [header] = sealed.split('.');
    let kid: unknown;
    try {
      kid = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid?: unknown }).kid;
    } catch {
      kid = undefined;
    }
    if (kid !== this.kid) throw new Error('sealed under another SESSION_ENCRYPTION_KEY (or not a sealed token)');
    const { plaintext } = await compactDecrypt(sealed, this.key, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    return new TextDecoder().decode(plaintext);
  }
}
