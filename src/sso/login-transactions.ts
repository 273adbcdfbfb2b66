import type { EntityManager } from '@mikro-orm/postgresql';
import * as client from 'openid-client';
import { clientKey, MAX_PENDING_PER_CLIENT } from './attempt-limits';
import { LoginTransaction } from './login-transaction.entity';

/** How long a sign-in attempt may take between `/oidc/authenticate/` and `/oidc/callback/`. */
export const LOGIN_TRANSACTION_TTL_MS = 10 * 60 * 1000;

export interface LoginAttempt {
  state: string;
  nonce: string;
  codeVerifier: string;
  next: string;
}

/** Login transactions a browser may have pending: the ones its state cookie can name. */
export const MAX_PENDING_PER_BROWSER = 5;

/**
 * Starts one sign-in attempt: fresh random state, nonce and PKCE verifier, stored in the
 * database (so several tabs and several instances work) for 10 minutes. The attempts of the
 * client address `clientAddress` beyond its newest MAX_PENDING_PER_CLIENT are deleted in the same
 * breath (across instances: the bound is read from the table). Expired attempts are deleted by
 * the housekeeping (`purgeExpiredLoginTransactions`), not on this path.
 */
export async function beginLoginTransaction(em: EntityManager, next: string, clientAddress = ''): Promise<LoginAttempt> {
  const attempt: LoginAttempt = {
    state: client.randomState(),
    nonce: client.randomNonce(),
    codeVerifier: client.randomPKCECodeVerifier(),
    next,
  };
  const now = Date.now();
  const key = clientKey(clientAddress);
  await em.insert(LoginTransaction, {
    ...attempt,
    clientKey: key,
    createdAt: new Date(now),
    expiresAt: new Date(now + LOGIN_TRANSACTION_TTL_MS),
  });
  await em.execute(
    `delete from sso_login_transaction
      where client_key = ?
        and state not in (select state from sso_login_transaction where client_key = ? order by created_at desc, state limit ?)`,
    [key, key, MAX_PENDING_PER_CLIENT],
  );
  return attempt;
}

/**
 * Deletes the attempts a browser has given up: those that fell out of its state cookie, which
 * the callback would refuse anyway. Keeps each browser to MAX_PENDING_PER_BROWSER rows.
 * Only a browser that holds a state can name it, and states are 256-bit random values.
 */
export async function discardLoginTransactions(em: EntityManager, states: readonly string[]): Promise<number> {
  if (states.length === 0) return 0;
  return em.nativeDelete(LoginTransaction, { state: { $in: [...states] } });
}

/** Deletes the attempts whose 10 minutes have passed (the callback refuses them already). */
export async function purgeExpiredLoginTransactions(em: EntityManager): Promise<number> {
  return em.nativeDelete(LoginTransaction, { expiresAt: { $lte: new Date() } });
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
    .execute('delete from "sso_login_transaction" where "state" = ? returning "state", "nonce", "code_verifier", "next", "expires_at"', [
      state,
    ]);
  const row = rows[0];
  if (!row || new Date(row.expires_at).getTime() <= Date.now()) return null;
  return { state: row.state, nonce: row.nonce, codeVerifier: row.code_verifier, next: row.next };
}
