import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger';
import { escapeLike } from '../db/sql';
import { endUserSessions } from '../sessions/sessions.service';
import { MembershipSource, UserGroup } from '../users/user-group.entity';
import { User } from '../users/user.entity';
import { withDirectoryGroups } from './directory';
import { decideLogin } from './login-decision';
import { GroupMappingRule } from './group-mapping-rule.entity';
import { Group } from '../groups/group.entity';
import type { GroupsClaimProblem, RuleMatch } from './mapping';
import { enabledRules } from './rule-cache';
import { SsoIdentity } from './sso-identity.entity';
import type { SsoLoginInput, SsoLoginPolicy, SsoRefusalReason } from './sso-login';

/*
 * The steps of a single sign-on, each one decision of the policy, composed in order by
 * `signInWithClaims` (`SIGN_IN_STEPS` in sso-login.ts) — in the spirit of oidc-provider's checks
 * table and Django's `RemoteUserBackend.configure_user` hook. A step reads what the earlier ones
 * found in the `SignIn`, adds its part, and either lets the sign-in go on or refuses it.
 */

const MAX_SUBJECT = 255;
const MAX_USERNAME = 150;
const MAX_NAME = 150;
const MAX_EMAIL = 254;

/** One sign-in in progress: its input, and what the steps have found so far. */
export interface SignIn {
  readonly tx: EntityManager;
  readonly input: SsoLoginInput;
  readonly policy: SsoLoginPolicy;
  readonly logger: Logger;
  /** The `sub` claim ('' when it is not a string). */
  readonly subject: string;
  /** The enabled rules that match the claims (mapClaims). */
  matches: RuleMatch[];
  groupsClaimProblem: GroupsClaimProblem | null;
  /** The person's account, once found, linked or created (findOrCreateIdentity). */
  user: User | null;
  identity: SsoIdentity | null;
  created: boolean;
  linked: boolean;
  /** Group names the sign-in added and removed (syncMemberships). */
  groupsAdded: string[];
  groupsRemoved: string[];
}

/** Why a step refuses the sign-in; the message goes to the log only. */
export interface Refusal {
  readonly reason: SsoRefusalReason;
  readonly message: string;
}

export type SignInStep = (signIn: SignIn) => Promise<Refusal | void> | Refusal | void;

const refuse = (reason: SsoRefusalReason, message: string): Refusal => ({ reason, message });

/** A usable `sub`: present, a string, and short enough to store. */
export function checkSubject(signIn: SignIn): Refusal | void {
  if (!signIn.subject || signIn.subject.length > MAX_SUBJECT) return refuse('invalid_claims', 'the token has no usable sub claim');
}

/**
 * Groups come only from the enabled mapping rules (`evaluateRules`), every match applying, on the
 * token's claims with the person's provisioned directory groups added to the groups claim. A
 * groups claim that is missing, an empty list, a single string (unless
 * OIDC_GROUPS_CLAIM_ALLOW_STRING) or not a list of strings grants nothing (told apart in the log
 * and the audit entry); rules on other claims (e.g. `email` glob
 * `*@example.com`) still apply, because an admin wrote them on purpose. Then the login policy
 * (`decideLogin`): with `requireMappedGroup`, no match refuses the sign-in.
 */
export async function mapClaims(signIn: SignIn): Promise<Refusal | void> {
  const { tx, input, policy, logger } = signIn;
  // A provisioned person's directory groups count as values of the groups claim (directory.ts).
  const allowString = policy.groupsClaimAllowString;
  const claims = policy.directoryGroups
    ? withDirectoryGroups(input.claims, policy.groupsClaim, await policy.directoryGroups.read(tx, input.issuer, signIn.subject), {
        allowString,
      })
    : input.claims;
  // The rules compiled once per version of the rule set, not loaded as entities per sign-in.
  const rules = (await enabledRules(tx, policy.groupsClaim)).rules;
  const mapping = rules.evaluate(claims, { allowString });
  policy.metrics?.mappingEvaluated(
    input.via,
    mapping.matches.length ? 'matched' : mapping.groupsClaimProblem ? 'groups_claim_problem' : 'no_match',
    rules.size,
  );
  signIn.matches = mapping.matches;
  signIn.groupsClaimProblem = mapping.groupsClaimProblem;
  if (mapping.groupsClaimProblem) {
    const { issuer } = input;
    logger.warn(
      { issuer, subject: signIn.subject, groupsClaim: policy.groupsClaim, problem: mapping.groupsClaimProblem },
      `single sign-on: groups claim ${mapping.groupsClaimProblem}`,
    );
  }
  if (!decideLogin(mapping, policy.requireMappedGroup).allowed)
    return refuse('access_not_granted', 'no mapping rule grants this person a group');
}

/**
 * The person's account: found by (issuer, sub). On a first sign-in, an account is created with
 * username = sub (refused with `account_conflict` when taken, never attached silently),
 * `isStaff`, no usable password, and the e-mail only if verified.
 *
 * Linking a first sign-in to an existing account by e-mail is how an identity provider user
 * could take over a local account (a superuser's, say) by claiming its address, so it is off
 * unless SSO_LINK_BY_EMAIL is on, and even then a verified e-mail (`email_verified === true`)
 * links only to an account that is active, has no usable password, no identity at any issuer
 * (hence never across issuers), is neither staff nor superuser, and is the only account with
 * that e-mail (case-insensitive). Any other account holding the e-mail makes the sign-in
 * `account_conflict` rather than create a second account beside it. A superuser attaches an
 * identity to any other account explicitly, with `linkIdentity` (identities.service.ts).
 */
export async function findOrCreateIdentity(signIn: SignIn): Promise<Refusal | void> {
  const { tx, subject, policy } = signIn;
  const { issuer, claims } = signIn.input;
  const existing = await tx.findOne(SsoIdentity, { issuer, subject }, { populate: ['user'] });
  let user = existing?.user ?? null;
  if (!user && policy.linkByEmail) {
    const found = await findUserToLink(tx, claims, policy);
    if (found && 'refusal' in found) return found.refusal;
    if (found) {
      user = found.user;
      signIn.linked = true;
    }
  }
  if (!user) {
    if (subject.length > MAX_USERNAME) return refuse('invalid_claims', 'the sub claim is too long to be a username');
    if (await tx.count(User, { username: subject }))
      return refuse('account_conflict', `a user named ${subject} exists and is not linked to this identity`);
    user = tx.create(User, {
      username: subject,
      email: verifiedEmail(claims, policy) ?? '',
      isStaff: true,
      isSuperuser: false,
      isActive: true,
      password: null,
    });
    signIn.created = true;
  }
  signIn.user = user;
  signIn.identity = existing ?? tx.create(SsoIdentity, { user, issuer, subject });
}

/** An inactive user is refused, whatever the directory says. */
export function refuseDisabled(signIn: SignIn): Refusal | void {
  if (!signIn.user!.isActive) return refuse('account_disabled', 'the account is disabled');
}

/** Names are refreshed at every sign-in, the e-mail too once verified; `isSuperuser` and `isStaff` never change. */
export function refreshProfile(signIn: SignIn): void {
  const user = signIn.user!;
  const { claims } = signIn.input;
  const { firstName, lastName } = profileNames(claims);
  if (firstName !== null) user.firstName = firstName;
  if (lastName !== null) user.lastName = lastName;
  const email = verifiedEmail(claims, signIn.policy);
  if (email !== null && !signIn.created) user.email = email;
}

/**
 * First and last name: `given_name` and `family_name` (OIDC Core §5.1) when the provider sends
 * either; otherwise `name` split once at its first space ("Ada King Lovelace" → "Ada", "King
 * Lovelace"), for providers that send only a display name (LemonLDAP::NG). Null: leave as is.
 *
 * @example profileNames({ name: 'Ada King Lovelace' }) // { firstName: 'Ada', lastName: 'King Lovelace' }
 */
export function profileNames(claims: Record<string, unknown>): { firstName: string | null; lastName: string | null } {
  const given = stringClaim(claims.given_name, MAX_NAME);
  const family = stringClaim(claims.family_name, MAX_NAME);
  if (given !== null || family !== null) return { firstName: given, lastName: family };
  const name = stringClaim(claims.name, Number.MAX_SAFE_INTEGER);
  if (!name) return { firstName: null, lastName: null };
  const space = name.search(/\s/);
  if (space < 0) return { firstName: name.slice(0, MAX_NAME), lastName: '' };
  return { firstName: name.slice(0, space).slice(0, MAX_NAME), lastName: name.slice(space).trim().slice(0, MAX_NAME) };
}

/**
 * Memberships granted by rules (`SSO_RULE`) are added and removed to match the rules that match
 * now; memberships an admin made are never touched (`syncRuleMemberships`).
 */
export async function syncMemberships(signIn: SignIn): Promise<void> {
  const { groupsAdded, groupsRemoved } = await syncRuleMemberships(signIn.tx, signIn.user!, signIn.matches, { created: signIn.created });
  signIn.groupsAdded = groupsAdded;
  signIn.groupsRemoved = groupsRemoved;
}

/**
 * The one membership sync of the mapping rules, for a sign-in and for a directory push (SCIM)
 * alike: `user`'s rule-granted memberships (`SSO_RULE`) become exactly those of `matches`; the
 * memberships an admin made are never touched. Returns the names of the groups the user gained
 * and lost (a group also held another way is neither). Persists within `tx`, does not flush;
 * `created`: the user is new, so has no memberships to read.
 */
export async function syncRuleMemberships(
  tx: EntityManager,
  user: User,
  matches: readonly RuleMatch[],
  options: { created?: boolean } = {},
): Promise<{ groupsAdded: string[]; groupsRemoved: string[] }> {
  const existing = options.created ? [] : await tx.find(UserGroup, { user }, { populate: ['group', 'rule'] });
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
      tx.remove(membership);
    }
  }
  const after = new Map(kept.map((m) => [m.group.id, m.group.name]));
  for (const match of wanted.values()) {
    tx.create(UserGroup, {
      user,
      group: tx.getReference(Group, match.rule.group.id),
      source: MembershipSource.SSO_RULE,
      rule: tx.getReference(GroupMappingRule, match.rule.id),
    });
    after.set(match.rule.group.id, match.rule.group.name);
  }
  return {
    groupsAdded: [...after]
      .filter(([id]) => !before.has(id))
      .map(([, name]) => name)
      .sort(),
    groupsRemoved: [...before]
      .filter(([id]) => !after.has(id))
      .map(([, name]) => name)
      .sort(),
  };
}

/**
 * A code-flow sign-in stores the claims it presented (previews judge rule changes on them) and
 * when it happened; a session refresh stores its newer claims only.
 */
export function recordSignIn(signIn: SignIn): void {
  const { via } = signIn.input;
  if (via === 'bearer') return;
  signIn.identity!.lastClaims = signIn.input.claims;
  if (via !== 'login') return;
  const now = new Date();
  signIn.identity!.lastLoginAt = now;
  signIn.user!.lastLogin = now;
}

/** What `revokeAccess` took back. */
export interface Revocation {
  /** Whether anything was removed or ended. */
  changed: boolean;
  sessionsEnded: number;
}

/**
 * Takes back what earlier sign-ins gave a person the directory no longer lets in (nothing maps
 * any more, the account is disabled): their rule-granted memberships are removed
 * (`groupsRemoved` records them for the audit entry) and every session of theirs ends, in the
 * sign-in's transaction. Memberships an admin made stay. A person never seen before has nothing
 * to take back; nobody is created or linked to find them.
 */
export async function revokeAccess(signIn: SignIn): Promise<Revocation> {
  const { tx, subject } = signIn;
  const user =
    signIn.user ?? (await tx.findOne(SsoIdentity, { issuer: signIn.input.issuer, subject }, { populate: ['user'] }))?.user ?? null;
  if (!user || user.id === undefined) return { changed: false, sessionsEnded: 0 };
  signIn.user = user;
  const granted = await tx.find(UserGroup, { user, source: MembershipSource.SSO_RULE }, { populate: ['group'] });
  const kept = new Set(
    (await tx.find(UserGroup, { user, source: { $ne: MembershipSource.SSO_RULE } }, { populate: ['group'] })).map((m) => m.group.id),
  );
  for (const membership of granted) tx.remove(membership);
  signIn.groupsRemoved = [...new Set(granted.filter((m) => !kept.has(m.group.id)).map((m) => m.group.name))].sort();
  await tx.flush();
  const sessionsEnded = await endUserSessions(tx, user.id);
  return { changed: granted.length > 0 || sessionsEnded > 0, sessionsEnded };
}

/**
 * With SSO_LINK_BY_EMAIL: the account a first sign-in links to by its verified e-mail, a
 * refusal when an account has that e-mail but may not be linked (see `findOrCreateIdentity`),
 * or null when no account has it (or the e-mail is not verified).
 */
async function findUserToLink(
  em: EntityManager,
  claims: Record<string, unknown>,
  policy: SsoLoginPolicy,
): Promise<{ user: User } | { refusal: Refusal } | null> {
  const email = verifiedEmail(claims, policy);
  if (!email) return null;
  const holders = await em.find(User, { email: { $ilike: escapeLike(email) } }, { limit: 2, populate: ['password'] });
  if (holders.length === 0) return null;
  const conflict = (why: string) => ({ refusal: refuse('account_conflict', `the e-mail ${email} belongs to an account that ${why}`) });
  if (holders.length > 1) return conflict('is one of several with that e-mail');
  const [candidate] = holders;
  if (!candidate.isActive) return conflict('is inactive');
  if (candidate.isSuperuser || candidate.isStaff) return conflict('is staff or a superuser');
  if (candidate.password !== null) return conflict('has a password');
  if (await em.count(SsoIdentity, { user: candidate })) return conflict('is already linked to an identity');
  return { user: candidate };
}

/**
 * The e-mail when the provider vouches for it: `email_verified === true`, or, with
 * OIDC_TRUST_EMAIL, no `email_verified` at all (for providers that never send it); an explicit
 * `false` is never trusted.
 */
function verifiedEmail(claims: Record<string, unknown>, policy: Pick<SsoLoginPolicy, 'trustEmail'>): string | null {
  const verified = claims.email_verified === true || (policy.trustEmail === true && claims.email_verified === undefined);
  if (!verified) return null;
  const email = stringClaim(claims.email, MAX_EMAIL);
  return email && email.includes('@') ? email : null;
}

function stringClaim(value: unknown, max: number): string | null {
  return typeof value === 'string' ? value.trim().slice(0, max) : null;
}
