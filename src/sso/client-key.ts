import { calculateJwkThumbprint, importPKCS8, type CryptoKey, type JWK } from 'jose';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * Gatehouse's own signing key at the provider (`private_key_jwt`, RFC 7523): it signs the client
 * assertion sent to the token endpoint; its public half is published at `/oidc/jwks.json` under
 * `kid`, the URL to register at the provider as the client's JWKS URL.
 */
export interface ClientSigningKey {
  readonly privateKey: CryptoKey;
  readonly kid: string;
  readonly alg: string;
  /** The public key as a JWK with `kid`, `alg` and `use: sig`: what `/oidc/jwks.json` lists. */
  readonly publicJwk: JWK;
}

/** The JWS algorithm for a key: RS256 for RSA, ES256/384/512 by curve, Ed25519 (as openid-client signs with it). */
function algorithmFor(key: KeyObject): string {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ed25519') return 'Ed25519';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === 'prime256v1') return 'ES256';
  if (curve === 'secp384r1') return 'ES384';
  if (curve === 'secp521r1') return 'ES512';
  throw new Error(`unsupported client key (${key.asymmetricKeyType} ${curve ?? ''})`);
}

/**
 * Reads the PEM private key (PKCS#8, or PKCS#1/SEC1, as configuration already checked) into a
 * signing key; `kid` defaults to the key's RFC 7638 thumbprint, stable across restarts.
 */
export async function loadClientSigningKey(pem: string, kid?: string | null): Promise<ClientSigningKey> {
  const keyObject = createPrivateKey(pem);
  const alg = algorithmFor(keyObject);
  const pkcs8 = keyObject.export({ format: 'pem', type: 'pkcs8' }).toString();
  const privateKey = await importPKCS8(pkcs8, alg);
  const jwk = createPublicKey(keyObject).export({ format: 'jwk' }) as JWK;
  const keyId = kid ?? (await calculateJwkThumbprint(jwk));
  return { privateKey, kid: keyId, alg, publicJwk: { ...jwk, kid: keyId, alg, use: 'sig' } };
}
