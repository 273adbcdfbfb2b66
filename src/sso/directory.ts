import type { EntityManager } from '@mikro-orm/postgresql';
import { groupsClaimProblem, readClaim, type GroupsClaimOptions } from './mapping';

/*
 * Directory groups that reach Gatehouse other than in a token: an identity provider pushing
 * them through provisioning (SCIM, src/scim). They are presented to the mapping rules as
 * values of the groups claim, so that a group pushed by the directory and one read from a
 * token behave the same: the same rules match them, the same SSO_RULE memberships follow.
 */

/**
 * Where the directory groups pushed for a person come from. Single sign-on is given one at start
 * (see `startSso`) and reads it at each sign-in, within the sign-in's transaction.
 */
export interface DirectoryGroupsSource {
  /** The directory groups pushed for the person (issuer, subject), by name, sorted; empty when none were (or the person was not provisioned). */
  read(em: EntityManager, issuer: string, subject: string): Promise<readonly string[]>;
  /**
   * The same as a SQL expression over an `sso_identity` row aliased `i`: the names as a JSON
   * array in text, sorted, `[]` when none — for a statement that reads them along with other
   * things (bearer-cache.ts). `read` runs it too, so the two never disagree.
   */
  readonly sql: string;
}

/**
 * `claims` with `groups` added to the value of the groups claim (a union, in order, without
 * duplicates), written under the claim's exact name, which `readClaim` reads before any nested
 * path. No groups: the claims unchanged. A groups claim that is not a list of strings, or a
 * single string where `options` wants a list, is left as it is, so that it still grants nothing
 * (fail closed) and is still reported.
 *
 * @example withDirectoryGroups({ sub: 'a', groups: ['X'] }, 'groups', ['Y']) // { sub: 'a', groups: ['X', 'Y'] }
 */
export function withDirectoryGroups(
  claims: Record<string, unknown>,
  groupsClaim: string,
  groups: readonly string[],
  options: GroupsClaimOptions = {},
): Record<string, unknown> {
  if (!groups.length) return claims;
  const current = readClaim(claims, groupsClaim);
  const problem = groupsClaimProblem(current, options);
  if (problem === 'not_a_string_list' || problem === 'not_a_list') return claims;
  const fromToken = typeof current === 'string' ? [current] : Array.isArray(current) ? (current as string[]) : [];
  return { ...claims, [groupsClaim]: [...new Set([...fromToken, ...groups])] };
}
