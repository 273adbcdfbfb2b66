import type { EntityManager } from '@mikro-orm/postgresql';
import { createHash } from 'node:crypto';
import { ActionFlag, LogEntry } from '../audit/log-entry.entity';
import type { Logger } from '../config/logger';
import { MembershipSource, UserGroup } from '../users/user-group.entity';
import { User } from '../users/user.entity';
import { decideLogin } from './login-decision';
import { evaluateRules, loadEnabledRules, type GroupsClaimProblem, type RuleMatch } from './mapping';
import { SsoIdentity } from './sso-identity.entity';

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
  /** `login`: the code flow (stores the claims, always audits). `bearer`: a provider access token on an API request. */
  via: 'login' | 'bearer';
}

export interface SsoLoginPolicy {
  groupsClaim: string;
  requireMappedGroup: boolean;
}

export interface SsoLoginOutcome {
  user: User;
  created: boolean;
  linked: boolean;
  matches: RuleMatch[];
  groupsAdded: string[];
  groupsRemoved: string[];
}

const MAX_USERNAME = 150;
const MAX_NAME = 150;
const MAX_EMAIL = 254;

/**
 * Signs the holder of `input.claims` in, in ONE transaction with `then` (e.g. creating the
 * session), and returns the user. Guarantees:
 *
 * - Groups come only from the enabled mapping rules (`evaluateRules`), all matches applying.
 *   A groups claim that is missing, an empty list or not a list of strings grants nothing
 *   (the three are told apart in the log and the audit entry); rules on other claims (e.g.
 *   `email` glob `*@example.com`) still apply, because an admin wrote them on purpose. With
 *   `requireMappedGroup` and no matching rule the sign-in is refused ("access not granted")
 *   and nothing is written but the audit entry.
 * - The user is found by (issuer, sub). On a first sign-in an existing account is linked by
 *   e-mail only when `email_verified === true` and exactly one active user has that e-mail
 *   (case-insensitive) and is not linked to this issuer yet; otherwise a user is created with
 *   username = sub (refused with `account_conflict` when taken, never attached silently),
 *   `isStaff`, no usable password, and the e-mail only if verified — so an unverified address
 *   can never later make a verified person's sign-in link to an account someone else created.
 * - An inactive user is refused.
 * - Names are refreshed at every sign-in; memberships granted by rules (`SSO_RULE`) are added
 *   and removed to match the rules that match now; memberships an admin made are never
 *   touched; `isSuperuser` and `isStaff` are never changed for an existing user.
 * - Every code-flow attempt, allowed or refused, writes an audit entry (app `sso`, model
 *   `login`) with the reason, the rules matched, the groups added and removed and a SHA-256
 *   digest of the claims (never a token). A bearer request writes one only when it changed
 *   something (created, linked, groups), so API traffic does not flood the log.
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

  const attempt = await em.transactional(async (tx) => {
    const audit = (entry: AuditFields) => {
      if (via === 'login' || entry.outcome === 'allowed') writeAudit(tx, { ...entry, issuer, subject, digest, via });
    };
    const refuse = (reason: SsoRefusalReason, message: string, extra: Partial<AuditFields> = {}) => {
      if (via === 'login') audit({ outcome: 'refused', reason, user: null, ...extra });
      return { refused: new SsoLoginRefused(reason, message) } as const;
    };

    if (!subject || subject.length > 255) return refuse('invalid_claims', 'the token has no usable sub claim');

    // A malformed groups claim grants nothing, even through its string entries: evaluateRules fails closed.
    const mapping = evaluateRules(await loadEnabledRules(tx), claims, policy.groupsClaim);
    const problem: GroupsClaimProblem | null = mapping.groupsClaimProblem;
    const matches = mapping.matches;
    const matchInfo = matches.map(describeMatch);
    if (problem) logger.warn({ issuer, subject, groupsClaim: policy.groupsClaim, problem }, `single sign-on: groups claim ${problem}`);
    if (!decideLogin(mapping, policy.requireMappedGroup).allowed) {
      return refuse('access_not_granted', 'no mapping rule grants this person a group', { groupsClaimProblem: problem });
    }

    const existing = await tx.findOne(SsoIdentity, { issuer, subject }, { populate: ['user'] });
    let user = existing?.user ?? null;
    let created = false;
    let linked = false;
    if (!user) {
      user = await findUserToLink(tx, issuer, claims);
      if (user) {
        linked = true;
      } else {
        if (subject.length > MAX_USERNAME)
          return refuse('invalid_claims', 'the sub claim is too long to be a username', {
            groupsClaimProblem: problem,
            rulesMatched: matchInfo,
          });
        if (await tx.count(User, { username: subject })) {
          return refuse('account_conflict', `a user named ${subject} exists and is not linked to this identity`, {
            groupsClaimProblem: problem,
            rulesMatched: matchInfo,
          });
        }
        user = tx.create(User, {
          username: subject,
          email: verifiedEmail(claims) ?? '',
          isStaff: true,
          isSuperuser: false,
          isActive: true,
          password: null,
        });
        created = true;
      }
    }
    const identity = existing ?? tx.create(SsoIdentity, { user, issuer, subject });
    if (!user.isActive) {
      return refuse('account_disabled', 'the account is disabled', { user, groupsClaimProblem: problem, rulesMatched: matchInfo });
    }

    const firstName = stringClaim(claims.given_name, MAX_NAME);
    const lastName = stringClaim(claims.family_name, MAX_NAME);
    if (firstName !== null) user.firstName = firstName;
    if (lastName !== null) user.lastName = lastName;
    const email = verifiedEmail(claims);
    if (email !== null && !created) user.email = email;

    const { added, removed } = await syncRuleMemberships(tx, user, created, matches);
    const now = new Date();
    if (via === 'login') {
      identity.lastClaims = claims;
      identity.lastLoginAt = now;
      user.lastLogin = now;
    }
    await tx.flush();
    const changed = created || linked || added.length > 0 || removed.length > 0;
    if (via === 'login' || changed) {
      audit({
        outcome: 'allowed',
        reason: created ? 'created' : linked ? 'linked' : 'existing',
        user,
        groupsClaimProblem: problem,
        rulesMatched: matchInfo,
        groupsAdded: added,
        groupsRemoved: removed,
        created,
      });
    }
    const result = then ? await then(tx, user) : (undefined as T);
    await tx.flush();
    return { outcome: { user, created, linked, matches, groupsAdded: added, groupsRemoved: removed }, result };
  });

  if ('refused' in attempt) {
    logger.info({ issuer, subject, reason: attempt.refused.reason, detail: attempt.refused.message, via }, 'single sign-on refused');
    throw attempt.refused;
  }
  logger.info(
    {
      issuer,
      subject,
      userId: attempt.outcome.user.id,
      created: attempt.outcome.created,
      linked: attempt.outcome.linked,
      groupsAdded: attempt.outcome.groupsAdded,
      groupsRemoved: attempt.outcome.groupsRemoved,
      via,
    },
    'single sign-on allowed',
  );
  return attempt;
}

/**
 * The one active user to link a first sign-in to: only for a verified e-mail
 * (`email_verified === true`, not "true" or 1), only when exactly one active user has it, and
 * only if that user has no identity at this issuer yet (else a second subject could take over
 * the account). Several matches link nobody: picking one would be a guess.
 */
async function findUserToLink(em: EntityManager, issuer: string, claims: Record<string, unknown>): Promise<User | null> {
  const email = verifiedEmail(claims);
  if (!email) return null;
  const candidates = await em.find(User, { email: { $ilike: escapeLike(email) }, isActive: true }, { limit: 2 });
  if (candidates.length !== 1) return null;
  const [candidate] = candidates;
  if (await em.count(SsoIdentity, { user: candidate, issuer })) return null;
  return candidate;
}

/** Adds and removes the rule-granted memberships of `user` to match `matches`; admin memberships are left alone. */
async function syncRuleMemberships(
  em: EntityManager,
  user: User,
  created: boolean,
  matches: RuleMatch[],
): Promise<{ added: string[]; removed: string[] }> {
  const existing = created ? [] : await em.find(UserGroup, { user }, { populate: ['group', 'rule'] });
  const before = new Map(existing.map((m) => [m.group.id, m.group.name]));
  const wanted = new Map(matches.map((m) => [`${m.rule.group.id}:${m.rule.id}`, m]));
  const kept: UserGroup[] = [];
  for (const membership of existing) {
    if (membership.source !== MembershipSource.SSO_RULE) {
      kept.push(membership);
      continue;
    }
    const key = `${membership.group.id}:${membership.rule?.id}`;
    if (wanted.has(key)) {
      kept.push(membership);
      wanted.delete(key);
    } else {
      em.remove(membership);
    }
  }
  const after = new Map(kept.map((m) => [m.group.id, m.group.name]));
  for (const match of wanted.values()) {
    em.create(UserGroup, { user, group: match.rule.group, source: MembershipSource.SSO_RULE, rule: match.rule });
    after.set(match.rule.group.id, match.rule.group.name);
  }
  const added = [...after]
    .filter(([id]) => !before.has(id))
    .map(([, name]) => name)
    .sort();
  const removed = [...before]
    .filter(([id]) => !after.has(id))
    .map(([, name]) => name)
    .sort();
  return { added, removed };
}

interface AuditFields {
  outcome: 'allowed' | 'refused';
  reason: string;
  user: User | null;
  groupsClaimProblem?: GroupsClaimProblem | null;
  rulesMatched?: Array<Record<string, unknown>>;
  groupsAdded?: string[];
  groupsRemoved?: string[];
  created?: boolean;
}

function writeAudit(em: EntityManager, entry: AuditFields & { issuer: string; subject: string; digest: string; via: string }): void {
  // Not through logChange: the sign-in is an event of app `sso` with no registered model behind it.
  em.create(LogEntry, {
    // The actor: the person signing in once allowed; nobody for a refusal.
    user: entry.outcome === 'allowed' ? entry.user : null,
    appLabel: 'sso',
    model: 'login',
    objectId: entry.user?.id === undefined ? null : String(entry.user.id),
    objectRepr: (entry.user?.username ?? `${entry.subject} at ${entry.issuer}`).slice(0, 200),
    actionFlag: entry.created ? ActionFlag.ADDITION : ActionFlag.CHANGE,
    changeMessage: [
      {
        sso_login: {
          outcome: entry.outcome,
          reason: entry.reason,
          via: entry.via,
          issuer: entry.issuer,
          subject: entry.subject,
          groupsClaimProblem: entry.groupsClaimProblem ?? null,
          rulesMatched: entry.rulesMatched ?? [],
          groupsAdded: entry.groupsAdded ?? [],
          groupsRemoved: entry.groupsRemoved ?? [],
          claimsDigest: entry.digest,
        },
      },
    ],
  });
}

function describeMatch(match: RuleMatch): Record<string, unknown> {
  return { rule: match.rule.id, claim: match.claim, value: match.value, group: match.rule.group.name };
}

/** SHA-256 (hex) of the claims as canonical JSON (keys sorted): tells two attempts apart without storing them. */
export function claimsDigest(claims: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(claims)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function verifiedEmail(claims: Record<string, unknown>): string | null {
  if (claims.email_verified !== true) return null;
  const email = stringClaim(claims.email, MAX_EMAIL);
  return email && email.includes('@') ? email : null;
}

function stringClaim(value: unknown, max: number): string | null {
  return typeof value === 'string' ? value.trim().slice(0, max) : null;
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
