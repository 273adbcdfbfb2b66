import type { MappingResult } from './mapping';

/** How a login with given claims goes, by the policy the relying party applies. */
export interface LoginDecision {
  allowed: boolean;
  /** Why it is refused: the groups-claim problem, or `no_matching_rule`; null when allowed. */
  refusal: `groups_claim_${NonNullable<MappingResult['groupsClaimProblem']>}` | 'no_matching_rule' | null;
}

/**
 * The login policy on a mapping result — the one place it is decided, for a real sign-in and
 * for `previewGroupMapping` alike: with `requireMappedGroup` (SSO_REQUIRE_MAPPED_GROUP, default
 * true) a sign-in that no rule matches is refused, and the refusal names the groups-claim problem
 * when there is one (a missing, empty or malformed groups claim grants nothing: `evaluateRules`
 * fails closed on it).
 *
 * @example decideLogin({ matches: [], groupIds: [], groupsClaimProblem: 'missing' }, true)
 *   // { allowed: false, refusal: 'groups_claim_missing' }
 */
export function decideLogin(result: MappingResult, requireMappedGroup: boolean): LoginDecision {
  if (!requireMappedGroup || result.matches.length > 0) return { allowed: true, refusal: null };
  return { allowed: false, refusal: result.groupsClaimProblem ? `groups_claim_${result.groupsClaimProblem}` : 'no_matching_rule' };
}
