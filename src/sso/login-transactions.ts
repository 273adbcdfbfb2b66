import type { EntityManager } from '@mikro-orm/postgresql';
import * as client from 'openid-client';
import { LoginTransaction } from './login-transaction.entity';

/** How long a sign-in attempt may take between `/oidc/authenticate/` and `/oidc/callback/`. */
export const LOGIN_TRANSACTION_TTL_MS = 10 * 60 * 1000;

export interface LoginAttempt {
  state: string;
  nonce: string;
  codeVerifier: string;
  next: string;
}

/**
 * Starts one sign-in attempt: fresh random state, nonce and PKCE verifier, stored in the
 * database (so several tabs and several instances work) for 10 minutes. Expired attempts
 * are swept on the way.
 */
export async function beginLoginTransaction(em: EntityManager, next: string): Promise<LoginAttempt> {
  const attempt: LoginAttempt = { state: client.randomState(), nonce: client.randomNonce(), codeVerifier: client.randomPKCECodeVerifier(), next };
  const now = Date.now();
  await em.nativeDelete(LoginTransaction, { expiresAt: { $lt: new Date(now) } });
  await em.insert(LoginTransaction, { ...attempt, createdAt: new Date(now), expiresAt: new Date(now + LOGIN_TRANSACTION_TTL_MS) });
  return attempt;
}

/**
 * Takes the attempt for `state` out of the database in one statement (DELETE … RETURNING),
 * so it can be used once only, even by two instances racing on a replayed callback. Returns
 * null for an unknown, already used or expired state.
 */
export async function consumeLoginTransaction(em: EntityManager, state: string): Promise<LoginAttempt | null> {
  if (!state || state.length > 128) return null;
  const rows: Array<{ state: string; nonce: string; code_verifier: string; next: string; expires_at: Date | string }> = await em
    .getConnection()
    .execute('delete from "sso_login_transaction" where "state" = ? returning "state", "nonce", "code_verifier", "next", "expires_at"', [state]);
  const row = rows[0];
  if (!row || new Date(row.expires_at).getTime() <= Date.now()) return null;
  return { state: row.state, nonce: row.nonce, codeVerifier: row.code_verifier, next: row.next };
}
