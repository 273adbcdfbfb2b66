import type { EntityManager } from '@mikro-orm/postgresql';
import { RE2JS } from 're2js';
import { badInput } from '../errors';
import { GroupMappingRule, MatchType } from './group-mapping-rule.entity';

/**
 * The group-mapping engine: reads claims and turns them into local groups, by the rules
 * admins manage (`sso.GroupMappingRule`). Everything here but `loadEnabledRules` is pure.
 *
 * Patterns are matched with RE2 (the `re2js` port): linear time in the length of the value,
 * whatever the pattern, so no rule an admin writes can stall a sign-in (no catastrophic
 * backtracking, no ReDoS). REGEX therefore speaks RE2 syntax: no backreferences, no
 * lookaround; everything else JavaScript users expect (classes, `\d`, `(?:…)`, `{m,n}`,
 * `\p{L}`) works.
 */

/** Longest pattern accepted (the column is 255 characters). */
export const MAX_PATTERN_LENGTH = 255;

/**
 * The value at `path` in `claims`, or undefined when there is none.
 *
 * An exact top-level key wins, because namespaced claim names contain dots
 * (`https://www.example.com/ad/groups`); otherwise `path` is read as a dotted path into nested
 * objects (`realm_access.roles`, `resource_access.gatehouse.roles`). Only own properties of
 * plain objects are followed, so `__proto__` or `constructor` never reach a prototype.
 *
 * @example readClaim({ realm_access: { roles: ['a'] } }, 'realm_access.roles') // ['a']
 */
export function readClaim(claims: Record<string, unknown>, path: string): unknown {
  if (!isPlainObject(claims) || path === '') return undefined;
  if (Object.hasOwn(claims, path)) return claims[path];
  let current: unknown = claims;
  for (const segment of path.split('.')) {
    if (!isPlainObject(current) || !Object.hasOwn(current, segment)) return undefined;
    current = current[segment];
  }
  return current;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Why the groups claim cannot be used: absent (or null), an empty list, a single string where a
 * list is expected (`not_a_list`, unless OIDC_GROUPS_CLAIM_ALLOW_STRING), or not a list of strings.
 */
export type GroupsClaimProblem = 'missing' | 'empty' | 'not_a_list' | 'not_a_string_list';

/** How the groups claim is read beyond its path. */
export interface GroupsClaimOptions {
  /** OIDC_GROUPS_CLAIM_ALLOW_STRING: a single string counts as a list of one (default: refused as `not_a_list`). */
  allowString?: boolean;
}

/** One rule that matched, the claim path it read and the value that matched it. */
export interface RuleMatch {
  rule: GroupMappingRule;
  claim: string;
  value: string;
}

export interface MappingResult {
  /** Every enabled rule that matched, in the order given (one entry per rule: its first matching value). */
  matches: RuleMatch[];
  /** The local groups the matches grant, without duplicates, ascending. */
  groupIds: number[];
  /** What is wrong with the configured groups claim, or null when it is a non-empty list of strings. */
  groupsClaimProblem: GroupsClaimProblem | null;
}

/**
 * Tells what is wrong with the groups claim's value. The contract is a list of strings: a
 * single string is `not_a_list` (fail closed: a provider sending one group's name where a list
 * belongs is misconfigured, and a string is not what an admin's rules were written against)
 * unless `allowString`, which reads it as a list of one (some providers send one group that
 * way). Null counts as missing (OpenID Connect Core §5.3.2: absent claims should be omitted).
 */
export function groupsClaimProblem(value: unknown, options: GroupsClaimOptions = {}): GroupsClaimProblem | null {
  if (value === undefined || value === null) return 'missing';
  if (typeof value === 'string') return !options.allowString ? 'not_a_list' : value === '' ? 'empty' : null;
  if (!Array.isArray(value)) return 'not_a_string_list';
  if (value.length === 0) return 'empty';
  return value.every((entry) => typeof entry === 'string') ? null : 'not_a_string_list';
}

/** The string values of a claim: a string is one value, a list gives its strings; anything else gives none. */
function stringValues(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((entry): entry is string => typeof entry === 'string');
  return [];
}

/**
 * Applies `rules` to `claims`: every enabled rule whose claim (the rule's own path, or
 * `groupsClaim` when it has none) holds a value matching its pattern grants its group; all
 * matching rules apply (union). A claim value may be a string or a list of strings; entries
 * that are not strings never match. Fail closed: a groups claim that is not a list of strings
 * (or a single string, unless `options.allowString`) grants nothing at all (not even through its
 * string entries), and a stored rule whose pattern no longer compiles matches nothing. Pure:
 * reads `rule.group.id` only.
 */
export function evaluateRules(
  rules: GroupMappingRule[],
  claims: Record<string, unknown>,
  groupsClaim: string,
  options: GroupsClaimOptions = {},
): MappingResult {
  const problem = groupsClaimProblem(readClaim(claims, groupsClaim), options);
  const matches: RuleMatch[] = [];
  for (const rule of rules) {
    if (!rule.enabled) continue;
    const claim = rule.claim ?? groupsClaim;
    if (claim === groupsClaim && (problem === 'not_a_string_list' || problem === 'not_a_list')) continue;
    let test: (value: string) => boolean;
    try {
      test = cachedPattern(rule.matchType, rule.pattern, rule.caseSensitive);
    } catch {
      continue;
    }
    const value = stringValues(readClaim(claims, claim)).find(test);
    if (value !== undefined) matches.push({ rule, claim, value });
  }
  const groupIds = [...new Set(matches.map((m) => m.rule.group.id))].sort((a, b) => a - b);
  return { matches, groupIds, groupsClaimProblem: problem };
}

/** The enabled rules, their groups loaded, oldest first. */
export async function loadEnabledRules(em: EntityManager): Promise<GroupMappingRule[]> {
  return em.find(GroupMappingRule, { enabled: true }, { populate: ['group'], orderBy: { id: 'asc' } });
}

/**
 * A matcher for `pattern`, always matching the whole value:
 * - EXACT: the value equals the pattern;
 * - GLOB (shell/fnmatch style): `*` any run of characters, `?` one character, `[abc]`, `[a-z]`,
 *   `[!abc]` a character (not) in the set; everything else is literal, `.` included;
 * - REGEX: RE2 syntax, anchored at both ends (`B2E_.*` does not match `xB2E_A`).
 * `caseSensitive: false` compares with Unicode simple case folding.
 *
 * @throws GatehouseError BAD_USER_INPUT naming `input.pattern` for an empty or overlong pattern,
 *   an invalid regular expression or glob class, or RE2 syntax the engine refuses
 *   (backreferences, lookaround, repeat counts over 1000).
 * @example compilePattern(MatchType.GLOB, '*@example.com', false)('Carl@Example.com') // true
 */
export function compilePattern(matchType: MatchType, pattern: string, caseSensitive: boolean): (value: string) => boolean {
  if (pattern.length === 0) throw badInput('input.pattern', 'must not be empty');
  if (pattern.length > MAX_PATTERN_LENGTH) throw badInput('input.pattern', `must be at most ${MAX_PATTERN_LENGTH} characters`);
  let source: string;
  switch (matchType) {
    case MatchType.EXACT:
      if (caseSensitive) return (value) => value === pattern;
      source = RE2JS.quote(pattern);
      break;
    case MatchType.GLOB:
      source = globToRe2(pattern);
      break;
    case MatchType.REGEX:
      source = pattern;
      break;
    default:
      throw badInput('input.matchType', `must be one of ${Object.values(MatchType).join(', ')}`);
  }
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(source, caseSensitive ? 0 : RE2JS.CASE_INSENSITIVE);
  } catch (error) {
    const detail = error instanceof Error ? error.message.replace(/^error parsing regexp: /, '') : 'cannot be compiled';
    throw badInput('input.pattern', `is not a valid ${matchType === MatchType.GLOB ? 'glob' : 'RE2 regular expression'} (${detail})`);
  }
  // RE2JS#matches is a full match: the pattern is anchored at both ends.
  return (value) => compiled.matches(value);
}

/**
 * fnmatch-style glob → RE2 source. `[` with no closing `]` is a literal `[` (as in fnmatch);
 * a `]` right after `[` or `[!` is a member of the class.
 */
function globToRe2(glob: string): string {
  const chars = Array.from(glob);
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '*') {
      while (chars[i + 1] === '*') i++; // `**` is `*`
      out += '(?s:.*)';
    } else if (c === '?') {
      out += '(?s:.)';
    } else if (c === '[') {
      let j = i + 1;
      if (chars[j] === '!' || chars[j] === '^') j++;
      if (chars[j] === ']') j++;
      while (j < chars.length && chars[j] !== ']') j++;
      if (j >= chars.length) {
        out += RE2JS.quote('[');
        continue;
      }
      let start = i + 1;
      let cls = '[';
      if (chars[start] === '!' || chars[start] === '^') {
        cls += '^';
        start++;
      }
      const members = chars.slice(start, j);
      // A `-` between two members makes a range; first or last it is literal.
      members.forEach((member, n) => {
        cls += member === '-' && n > 0 && n < members.length - 1 ? '-' : escapeClassMember(member);
      });
      out += `${cls}]`;
      i = j;
    } else {
      out += RE2JS.quote(c);
    }
  }
  return out;
}

function escapeClassMember(c: string): string {
  return `\\x{${c.codePointAt(0)!.toString(16)}}`;
}

// Compiled patterns, by (type, case, pattern): rules are evaluated at every sign-in.
const patternCache = new Map<string, (value: string) => boolean>();
const PATTERN_CACHE_SIZE = 1000;

function cachedPattern(matchType: MatchType, pattern: string, caseSensitive: boolean): (value: string) => boolean {
  const key = `${matchType}\u0000${caseSensitive ? 1 : 0}\u0000${pattern}`;
  let test = patternCache.get(key);
  if (!test) {
    test = compilePattern(matchType, pattern, caseSensitive);
    if (patternCache.size >= PATTERN_CACHE_SIZE) patternCache.delete(patternCache.keys().next().value!);
    patternCache.set(key, test);
  }
  return test;
}
