import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { logChange } from '../audit/audit.service';
import { ActionFlag } from '../audit/log-entry.entity';
import { writing } from '../db/database-errors';
import { badInput, conflict, notFound } from '../errors';
import { assertMayGrant } from '../permissions/grant-rule';
import { PermissionBackend } from '../permissions/has-perm';
import { modelRef } from '../permissions/registry';
import { AuthMethod, Session } from '../sessions/session.entity';
import { User } from '../users/user.entity';
import { SsoIdentity } from './sso-identity.entity';

/**
 * Linking and unlinking single sign-on identities by hand (`sso.SsoIdentity`, registered as
 * `sso.identity`): how an existing account is attached to a person's identity at the provider,
 * now that a first sign-in never takes over an account by its e-mail unless SSO_LINK_BY_EMAIL
 * allows it. Out of the box only superusers hold `sso.add_identity` and `sso.delete_identity`.
 * Linking an identity hands the account to whoever holds that identity, so it is granting the
 * account's permissions: a non-superuser a superuser has delegated the permission to may link
 * or unlink only on an account whose every permission it holds (the granting rule,
 * grant-rule.ts), which is never a superuser's. Every link and unlink is audited.
 */

export const IDENTITY_MODEL = modelRef('sso', 'identity');

const MAX_LENGTH = 255;

/** "carl at https://idp.example.com → carl.sagan": how an identity reads in the admin log. */
const identityRepr = (identity: Pick<SsoIdentity, 'issuer' | 'subject'>, user: Pick<User, 'username'>) =>
  `${identity.subject} at ${identity.issuer} → ${user.username}`;

function validateIssuer(issuer: string): string {
  const value = issuer.trim();
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || value.length > MAX_LENGTH)
    throw badInput('issuer', `must be the provider's issuer identifier, an http(s) URL of at most ${MAX_LENGTH} characters`);
  return value;
}

function validateSubject(subject: string): string {
  if (subject.length === 0 || subject.length > MAX_LENGTH) throw badInput('subject', `must be 1-${MAX_LENGTH} characters`);
  return subject;
}

/** A non-superuser may act only on an account whose every permission it holds (see above). */
async function assertMayHandOver(tx: EntityManager, actor: User, account: User, field: string): Promise<void> {
  const permissions = await new PermissionBackend(tx).getAllPermissions(account);
  await assertMayGrant(tx, actor, { permissions, field });
}

/** The identities linked to user `userId`, by issuer and subject; NOT_FOUND for an unknown user. */
export async function listIdentities(em: EntityManager, userId: number): Promise<SsoIdentity[]> {
  if (!(await em.count(User, { id: userId }))) throw notFound('user', userId);
  return em.find(SsoIdentity, { user: userId }, { orderBy: { issuer: 'asc', subject: 'asc' } });
}

/**
 * Links the identity (`issuer`, `subject`) to user `userId`: that person's next single sign-on
 * at that provider signs them in as this account. An identity already linked (to any account)
 * is CONFLICT naming `subject`; an unknown user NOT_FOUND; the link and its LogEntry are
 * written in one transaction.
 */
export async function linkIdentity(
  em: EntityManager,
  actor: User,
  userId: number,
  input: { issuer: string; subject: string },
): Promise<SsoIdentity> {
  const issuer = validateIssuer(input.issuer);
  const subject = validateSubject(input.subject);
  const taken = () => conflict('subject', `the identity ${subject} at ${issuer} is already linked to an account`);
  return writing(
    () =>
      em.transactional(async (tx) => {
        const user = await tx.findOne(User, userId, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!user) throw notFound('user', userId);
        await assertMayHandOver(tx, actor, user, 'userId');
        if (await tx.count(SsoIdentity, { issuer, subject })) throw taken();
        const identity = tx.create(SsoIdentity, { user, issuer, subject });
        await tx.flush();
        logChange(tx, {
          actor,
          model: IDENTITY_MODEL,
          objectId: identity.id,
          objectRepr: identityRepr(identity, user),
          action: ActionFlag.ADDITION,
          message: [{ added: { user: user.id, issuer, subject } }],
        });
        await tx.flush();
        return identity;
      }),
    { sso_identity_issuer_subject_unique: taken },
  );
}

/**
 * Unlinks identity `id` from its account: that person can no longer sign in as it through the
 * provider, and the account's single sign-on sessions end in the same transaction. Returns the
 * id; an unknown id is NOT_FOUND.
 */
export async function unlinkIdentity(em: EntityManager, actor: User, id: number): Promise<number> {
  return em.transactional(async (tx) => {
    const identity = await tx.findOne(SsoIdentity, id, { populate: ['user'], lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!identity) throw notFound('single sign-on identity', id);
    const user = identity.user;
    await assertMayHandOver(tx, actor, user, 'id');
    logChange(tx, {
      actor,
      model: IDENTITY_MODEL,
      objectId: identity.id,
      objectRepr: identityRepr(identity, user),
      action: ActionFlag.DELETION,
      message: [{ deleted: { user: user.id, issuer: identity.issuer, subject: identity.subject } }],
    });
    await tx.flush();
    await tx.nativeDelete(SsoIdentity, { id });
    await tx.nativeDelete(Session, { user: user.id, authMethod: AuthMethod.OIDC });
    return id;
  });
}
