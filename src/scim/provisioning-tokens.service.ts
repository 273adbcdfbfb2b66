import type { EntityManager } from '@mikro-orm/postgresql';
import { randomBytes } from 'node:crypto';
import { ActionFlag } from '../audit/log-entry.entity';
import { logChange } from '../audit/audit.service';
import { nodeKey } from '../db/ids';
import { findPage, type Page } from '../db/keyset';
import { badInput, notFound } from '../errors';
import { modelRef } from '../permissions/registry';
import { hashToken } from '../sessions/sessions.service';
import type { User } from '../users/user.entity';
import { ProvisioningToken } from './provisioning-token.entity';

/*
 * Provisioning tokens: created and revoked by an admin holding sso.add_provisioningtoken /
 * sso.delete_provisioningtoken (by default only superusers: nobody can grant a permission they
 * do not hold), each write logged with its LogEntry. A token is as powerful as the directory it
 * speaks for: it creates, changes and deactivates the users of its issuer and puts them in
 * directory groups, which the mapping rules turn into Gatehouse groups.
 */

export const TOKEN_MODEL = modelRef('sso', 'provisioningtoken');

/** Every token starts with this, so that secret scanners and people can tell what a leaked one is. */
export const TOKEN_PREFIX = 'gh_scim_';
const MAX_DESCRIPTION = 200;
const MAX_ISSUER = 255;
const LAST_USED_INTERVAL_MS = 60_000;

const tokenRepr = (token: Pick<ProvisioningToken, 'description' | 'issuer'>) => `${token.description} (${token.issuer})`;

/** The issuer a token is bound to: an absolute https URL (http only on loopback), as OIDC_ISSUER is. */
function validateIssuer(issuer: string): string {
  const value = issuer.trim();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badInput('input.issuer', 'must be the identity provider’s issuer URL, e.g. https://example.okta.com/oauth2/default');
  }
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw badInput('input.issuer', 'must be an https URL (http only on 127.0.0.1, ::1 or localhost)');
  if (value.length > MAX_ISSUER) throw badInput('input.issuer', `must be at most ${MAX_ISSUER} characters`);
  return value;
}

export interface NewProvisioningToken {
  description: string;
  /** null: the issuer of the running single sign-on (`defaultIssuer`). */
  issuer: string | null;
}

/**
 * Creates a token bound to `input.issuer` (or `defaultIssuer`, the running single sign-on's
 * provider) and returns it with its secret, which is never shown again: 256 random bits,
 * base64url, prefixed `gh_scim_`. Only the digest is stored. BAD_USER_INPUT names
 * `input.description` or `input.issuer`.
 */
export async function createProvisioningToken(
  em: EntityManager,
  actor: User | null,
  input: NewProvisioningToken,
  defaultIssuer: string | null,
): Promise<{ token: ProvisioningToken; secret: string }> {
  const description = input.description.trim();
  if (!description) throw badInput('input.description', 'must say what the token is for, e.g. "Okta production"');
  if (description.length > MAX_DESCRIPTION) throw badInput('input.description', `must be at most ${MAX_DESCRIPTION} characters`);
  const issuerInput = input.issuer ?? defaultIssuer;
  if (issuerInput === null) throw badInput('input.issuer', 'is required while single sign-on is off (no provider to default to)');
  const issuer = validateIssuer(issuerInput);
  const secret = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return em.transactional(async (tx) => {
    const token = tx.create(ProvisioningToken, { description, issuer, tokenHash: hashToken(secret), createdBy: actor });
    await tx.flush();
    logChange(tx, { actor, model: TOKEN_MODEL, objectId: token.id, objectRepr: tokenRepr(token), action: ActionFlag.ADDITION });
    await tx.flush();
    return { token, secret };
  });
}

/** The tokens, revoked ones included, oldest first, as a Relay page. */
export function listProvisioningTokens(
  em: EntityManager,
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<Page<ProvisioningToken>> {
  return findPage(em, ProvisioningToken, {}, [['id', 'asc']], { first, after }, { populate: ['createdBy'] });
}

/**
 * Revokes token `id` at once: the next SCIM request with it is refused (401). The row stays,
 * revoked. NOT_FOUND for an unknown id; revoking a revoked token changes nothing.
 */
export async function revokeProvisioningToken(em: EntityManager, actor: User | null, id: string): Promise<ProvisioningToken> {
  const tokenId = nodeKey(id, 'ProvisioningToken', 'id');
  return em.transactional(async (tx) => {
    const token = await tx.findOne(ProvisioningToken, { id: tokenId }, { populate: ['createdBy'] });
    if (!token) throw notFound('provisioning token', id);
    if (token.revokedAt) return token;
    token.revokedAt = new Date();
    logChange(tx, {
      actor,
      model: TOKEN_MODEL,
      objectId: token.id,
      objectRepr: tokenRepr(token),
      action: ActionFlag.CHANGE,
      message: [{ changed: { fields: ['revokedAt'] } }],
    });
    await tx.flush();
    return token;
  });
}

/**
 * The live token a SCIM request presents, or null: unknown, revoked, or not shaped like one
 * (compared by digest, so the lookup's timing tells nothing about the secret).
 */
export async function authenticateProvisioningToken(em: EntityManager, secret: string): Promise<ProvisioningToken | null> {
  if (!secret.startsWith(TOKEN_PREFIX) || secret.length > 256) return null;
  const token = await em.findOne(ProvisioningToken, { tokenHash: hashToken(secret), revokedAt: null });
  if (!token) return null;
  const now = Date.now();
  if (!token.lastUsedAt || now - token.lastUsedAt.getTime() > LAST_USED_INTERVAL_MS) {
    await em.nativeUpdate(ProvisioningToken, { id: token.id }, { lastUsedAt: new Date(now) });
    token.lastUsedAt = new Date(now);
  }
  return token;
}
