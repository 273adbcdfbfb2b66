import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger';
import type { GatehouseMetrics } from '../metrics/metrics';
import type { User } from '../users/user.entity';
import type { DirectoryGroupsSource } from './directory';
import type { RuleMatch } from './mapping';
import { claimsDigest, writeSignInAudit, type SignInAuditEntry } from './sso-login.audit';
import {
  checkSubject,
  findOrCreateIdentity,
  mapClaims,
  recordSignIn,
  refreshProfile,
  refuseDisabled,
  revokeAccess,
  syncMemberships,
  type SignIn,
  type SignInStep,
} from './sso-login.steps';

/**
 * The single sign-on login policy — mozilla-django-oidc's `verify_claims`, `filter_users_by_claims`,
 * `create_user` and `update_user`, made safe. It decides, from verified claims, whether and as
 * whom someone signs in, and refreshes what the directory controls. HTTP-free; the caller has
 * already verified the token.
 */

/** Why a sign-in was refused; also the `error` code the login page shows a message for. */
export type SsoRefusalReason = 'access_not_granted' | 'account_disabled' | 'account_conflict' | 'invalid_claims';

export class SsoLoginRefused extends Error {
  constructor(
    readonly reason: SsoRefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'SsoLoginRefused';
  }
}

export interface SsoLoginInput {
  /** The provider's issuer identifier; with `sub` it identifies the person. */
  issuer: string;
  /** Verified claims (ID token, plus userinfo when configured), protocol claims removed. */
  claims: Record<string, unknown>;
  /**
   * `login`: the code flow (stores the claims, always audits). `bearer`: a provider access token
   * on an API request. `refresh`: a session's periodic refresh at the provider (stores the claims).
   */
  via: 'login' | 'bearer' | 'refresh';
}

export interface SsoLoginPolicy {
  groupsClaim: string;
  requireMappedGroup: boolean;
  /** OIDC_TRUST_EMAIL: an e-mail the provider sends without `email_verified` counts as verified. */
  trustEmail?: boolean;
  /** SSO_LINK_BY_EMAIL (default false). */
  linkByEmail: boolean;
  /** OIDC_GROUPS_CLAIM_ALLOW_STRING (default false). */
  groupsClaimAllowString: boolean;
  /** The directory groups pushed for the person by provisioning (SCIM), added to the groups claim's; none when absent. */
  directoryGroups?: DirectoryGroupsSource;
  /** Counts each evaluation of the mapping rules (`/metrics`); absent when metrics are off. */
  metrics?: Pick<GatehouseMetrics, 'mappingEvaluated'>;
}

export interface SsoLoginOutcome {
  user: User;
  created: boolean;
  linked: boolean;
  matches: RuleMatch[];
  groupsAdded: string[];
  groupsRemoved: string[];
}

/**
 * The refusals that say the directory no longer lets this person in — nothing maps any more, or
 * the account is disabled — and so take back what an earlier sign-in gave (`revokeAccess`).
 */
const REVOKING_REFUSALS: ReadonlySet<SsoRefusalReason> = new Set(['access_not_granted', 'account_disabled']);

/** The steps of a sign-in, in order (see sso-login.steps.ts); the first refusal ends it. */
export const SIGN_IN_STEPS: ReadonlyArray<readonly [name: string, step: SignInStep]> = [
  ['check the subject', checkSubject],
  ['map the claims to groups', mapClaims],
  ['find or create the identity', findOrCreateIdentity],
  ['refuse a disabled account', refuseDisabled],
  ['refresh the profile', refreshProfile],
  ['sync the memberships', syncMemberships],
  ['record the sign-in', recordSignIn],
];

/**
 * Signs the holder of `input.claims` in, in ONE transaction with `then` (e.g. creating the
 * session), and returns the user. It runs SIGN_IN_STEPS in order, which guarantee:
 *
 * - Groups come only from the enabled mapping rules, all matches applying; a missing, empty or
 *   malformed groups claim grants nothing. The directory groups provisioning pushed for the
 *   person (`policy.directoryGroups`) count as values of the groups claim. With `requireMappedGroup` and no matching rule the
 *   sign-in is refused ("access not granted") and nothing is written but the audit entry.
 * - The user is found by (issuer, sub). A first sign-in creates an account (refused with
 *   `account_conflict` when the username is taken); with `linkByEmail` it may instead link to
 *   an existing one by verified e-mail, but only to an unprivileged, never-linked account that
 *   alone has that e-mail — any other match is `account_conflict` (see `findOrCreateIdentity`).
 * - An inactive user is refused.
 * - A refusal because nothing maps any more or the account is disabled revokes: the person's
 *   rule-granted memberships are removed and every session of theirs ends, in the transaction
 *   that writes the audit entry (`revokeAccess`).
 * - Names are refreshed at every sign-in; rule-granted memberships follow the rules that match
 *   now; memberships an admin made are never touched; `isSuperuser` and `isStaff` never change.
 * - Every code-flow attempt, allowed or refused, writes an audit entry (app `sso`, model
 *   `login`) with the reason, the rules matched, the groups added and removed and a SHA-256
 *   digest of the claims (never a token). A bearer request or a session refresh writes one only
 *   when it changed something (created, linked, groups, a revocation), so API traffic does not
 *   flood the log.
 *
 * @throws SsoLoginRefused after committing the refusal's audit entry.
 */
export async function signInWithClaims<T = void>(
  em: EntityManager,
  input: SsoLoginInput,
  policy: SsoLoginPolicy,
  logger: Logger,
  then?: (tx: EntityManager, user: User) => Promise<T>,
): Promise<{ outcome: SsoLoginOutcome; result: T }> {
  const { issuer, claims, via } = input;
  const digest = claimsDigest(claims);
  const subject = typeof claims.sub === 'string' ? claims.sub : '';

  type Attempt = { refused: SsoLoginRefused } | { outcome: SsoLoginOutcome; result: T };
  const attempt = await em.transactional(async (tx): Promise<Attempt> => {
    const signIn: SignIn = {
      tx,
      input,
      policy,
      logger,
      subject,
      matches: [],
      groupsClaimProblem: null,
      user: null,
      identity: null,
      created: false,
      linked: false,
      groupsAdded: [],
      groupsRemoved: [],
    };
    const audit = (outcome: SignInAuditEntry['outcome'], reason: string, sessionsEnded?: number) =>
      writeSignInAudit(tx, {
        outcome,
        reason,
        user: signIn.user,
        issuer,
        subject,
        via,
        digest,
        groupsClaimProblem: signIn.groupsClaimProblem,
        rulesMatched: signIn.matches,
        groupsAdded: signIn.groupsAdded,
        groupsRemoved: signIn.groupsRemoved,
        created: outcome === 'allowed' && signIn.created,
        sessionsEnded,
      });

    for (const [, step] of SIGN_IN_STEPS) {
      const refusal = await step(signIn);
      if (refusal) {
        const revoked = REVOKING_REFUSALS.has(refusal.reason) ? await revokeAccess(signIn) : null;
        // The code flow audits every refusal; a refused bearer token or refresh only when it revoked something.
        if (via === 'login' || revoked?.changed) audit('refused', refusal.reason, revoked?.changed ? revoked.sessionsEnded : undefined);
        return { refused: new SsoLoginRefused(refusal.reason, refusal.message) };
      }
    }
    await tx.flush();
    const { created, linked, groupsAdded, groupsRemoved, matches } = signIn;
    const user = signIn.user!;
    if (via === 'login' || created || linked || groupsAdded.length > 0 || groupsRemoved.length > 0)
      audit('allowed', created ? 'created' : linked ? 'linked' : 'existing');
    const result = then ? await then(tx, user) : (undefined as T);
    await tx.flush();
    return { outcome: { user, created, linked, matches, groupsAdded, groupsRemoved }, result };
  });

  if ('refused' in attempt) {
    logger.info({ issuer, subject, reason: attempt.refused.reason, detail: attempt.refused.message, via }, 'single sign-on refused');
    throw attempt.refused;
  }
  const { outcome } = attempt;
  logger.info(
    {
      issuer,
      subject,
      userId: outcome.user.id,
      created: outcome.created,
      linked: outcome.linked,
      groupsAdded: outcome.groupsAdded,
      groupsRemoved: outcome.groupsRemoved,
      via,
    },
    'single sign-on allowed',
  );
  return attempt;
}
