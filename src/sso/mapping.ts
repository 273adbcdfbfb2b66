import type { RE2JS } from 're2js';
import { badInput } from '../errors';
import { MatchType } from './group-mapping-rule.entity';

/**
 * The group-mapping engine: reads claims and turns them into local groups, by the rules
 * admins manage (`sso.GroupMappingRule`). Everything here is pure; the rules in force, compiled
 * once per version of the rule set, come from `rule-cache.ts`.
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

/**
 * What the engine reads of a rule: a `GroupMappingRule` entity, or the plain rows the compiled,
 * versioned rules are made of (`rule-cache.ts`).
 */
export interface MappingRule {
  id: number;
  claim: string | null;
  matchType: MatchType;
  pattern: string;
  caseSensitive: boolean;
  enabled: boolean;
  group: { id: number; name: string };
}

/** One rule that matched, the claim path it read and the value that matched it. */
export interface RuleMatch<R extends MappingRule = MappingRule> {
  rule: R;
  claim: string;
  value: string;
}

export interface MappingResult<R extends MappingRule = MappingRule> {
  /** Every enabled rule that matched, in the order given (one entry per rule: its first matching value). */
  matches: RuleMatch<R>[];
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
 *
 * This compiles `rules` for one evaluation; what evaluates the same rules many times (sign-ins,
 * previews) compiles them once with `compileRules`, which gives the same answers.
 */
export function evaluateRules<R extends MappingRule>(
  rules: readonly R[],
  claims: Record<string, unknown>,
  groupsClaim: string,
  options: GroupsClaimOptions = {},
): MappingResult<R> {
  return compileRules(rules, groupsClaim).evaluate(claims, options);
}

/** A rule ready to test: its position in the rule list, and its matcher, compiled on first use. */
interface CompiledRule<R> {
  readonly position: number;
  readonly rule: R;
  test(value: string): boolean;
}

/**
 * The rules of one claim path, indexed so that a value is tested only against the rules it can
 * match: EXACT rules are looked up by value, GLOB and REGEX rules (and EXACT ones that cannot be
 * keyed) by the literal text every match must start with; only rules without such a prefix are
 * tried on every value. Each candidate is then confirmed by its real matcher, so the index only
 * ever skips rules that cannot match — the answers are those of testing every rule.
 */
class ClaimIndex<R> {
  readonly exact = new Map<string, CompiledRule<R>[]>();
  readonly exactFolded = new Map<string, CompiledRule<R>[]>();
  readonly prefixes = new Map<string, CompiledRule<R>[]>();
  readonly foldedPrefixes = new Map<string, CompiledRule<R>[]>();
  prefixLengths: number[] = [];
  foldedPrefixLengths: number[] = [];
  readonly always: CompiledRule<R>[] = [];

  add(compiled: CompiledRule<R>, key: RuleKey): void {
    const into = (map: Map<string, CompiledRule<R>[]>, k: string) => {
      const list = map.get(k);
      if (list) list.push(compiled);
      else map.set(k, [compiled]);
    };
    if (key.kind === 'exact') into(key.folded ? this.exactFolded : this.exact, key.text);
    else if (key.kind === 'prefix') into(key.folded ? this.foldedPrefixes : this.prefixes, key.text);
    else this.always.push(compiled);
  }

  seal(): void {
    const lengths = (map: Map<string, unknown>) => [...new Set([...map.keys()].map((k) => k.length))].sort((a, b) => a - b);
    this.prefixLengths = lengths(this.prefixes);
    this.foldedPrefixLengths = lengths(this.foldedPrefixes);
  }

  /** The rules `value` may match, each once, in no particular order. */
  candidates(value: string, visit: (compiled: CompiledRule<R>) => void): void {
    this.exact.get(value)?.forEach(visit);
    const folded = this.exactFolded.size || this.foldedPrefixes.size ? foldAscii(value) : '';
    if (this.exactFolded.size) this.exactFolded.get(folded)?.forEach(visit);
    for (const length of this.prefixLengths) {
      if (length > value.length) break;
      this.prefixes.get(value.slice(0, length))?.forEach(visit);
    }
    for (const length of this.foldedPrefixLengths) {
      if (length > folded.length) break;
      this.foldedPrefixes.get(folded.slice(0, length))?.forEach(visit);
    }
    this.always.forEach(visit);
  }
}

/**
 * Rules compiled once for many evaluations (`compileRules`): disabled rules dropped, rules indexed
 * per claim path, patterns compiled on first use (a pattern that does not compile matches nothing).
 */
export class CompiledRules<R extends MappingRule = MappingRule> {
  private readonly claims = new Map<string, ClaimIndex<R>>();
  /** How many enabled rules there are. */
  readonly size: number;

  constructor(
    readonly rules: readonly R[],
    readonly groupsClaim: string,
    matchers: MatcherCache = new MatcherCache(),
  ) {
    let size = 0;
    rules.forEach((rule, position) => {
      if (!rule.enabled) return;
      size++;
      const claim = rule.claim ?? groupsClaim;
      let index = this.claims.get(claim);
      if (!index) this.claims.set(claim, (index = new ClaimIndex<R>()));
      const key = ruleKey(rule);
      let matcher: ((value: string) => boolean) | null = null;
      const test =
        key.kind === 'exact' && !key.folded
          ? (value: string) => value === rule.pattern
          : (value: string) => (matcher ??= matchers.get(rule.matchType, rule.pattern, rule.caseSensitive))(value);
      index.add({ position, rule, test }, key);
    });
    this.size = size;
    for (const index of this.claims.values()) index.seal();
  }

  /** `evaluateRules(this.rules, claims, this.groupsClaim, options)`, with the work done once. */
  evaluate(claims: Record<string, unknown>, options: GroupsClaimOptions = {}): MappingResult<R> {
    const groupsClaim = this.groupsClaim;
    const problem = groupsClaimProblem(readClaim(claims, groupsClaim), options);
    const found = new Map<number, RuleMatch<R>>();
    for (const [claim, index] of this.claims) {
      if (claim === groupsClaim && (problem === 'not_a_string_list' || problem === 'not_a_list')) continue;
      // Values in claim order: the first value a rule matches is the one recorded.
      for (const value of stringValues(readClaim(claims, claim))) {
        index.candidates(value, (compiled) => {
          if (!found.has(compiled.position) && compiled.test(value)) found.set(compiled.position, { rule: compiled.rule, claim, value });
        });
      }
    }
    const matches = [...found.keys()].sort((a, b) => a - b).map((position) => found.get(position)!);
    const groupIds = [...new Set(matches.map((m) => m.rule.group.id))].sort((a, b) => a - b);
    return { matches, groupIds, groupsClaimProblem: problem };
  }
}

/**
 * Compiles `rules` (evaluated on `groupsClaim` for those without a claim of their own) for
 * repeated evaluation; `matchers` lets a new version of the rules reuse the patterns an older one
 * compiled.
 */
export function compileRules<R extends MappingRule>(rules: readonly R[], groupsClaim: string, matchers?: MatcherCache): CompiledRules<R> {
  return new CompiledRules(rules, groupsClaim, matchers);
}

/**
 * Compiled patterns by (type, case, pattern), shared by the versions of a rule set: the patterns
 * of the rules in force, and no others, once `retain` has dropped those no version uses.
 */
export class MatcherCache {
  private readonly compiled = new Map<string, (value: string) => boolean>();

  get(matchType: MatchType, pattern: string, caseSensitive: boolean): (value: string) => boolean {
    const key = `${matchType}\u0000${caseSensitive ? 1 : 0}\u0000${pattern}`;
    let test = this.compiled.get(key);
    if (!test) {
      try {
        test = compilePattern(matchType, pattern, caseSensitive);
      } catch {
        test = () => false; // a stored pattern that no longer compiles matches nothing (fail closed)
      }
      this.compiled.set(key, test);
    }
    return test;
  }

  /** Forgets every pattern but those of `rules`. */
  retain(rules: readonly MappingRule[]): void {
    const keep = new Set(rules.map((r) => `${r.matchType}\u0000${r.caseSensitive ? 1 : 0}\u0000${r.pattern}`));
    for (const key of this.compiled.keys()) if (!keep.has(key)) this.compiled.delete(key);
  }
}

/** How a rule is found: by its whole value, by the prefix every match starts with, or tried on every value. */
type RuleKey = { kind: 'exact' | 'prefix'; text: string; folded: boolean } | { kind: 'always' };

/** Longest prefix used as a key: longer ones are cut, which keeps them necessary conditions. */
const MAX_PREFIX = 32;

function ruleKey(rule: Pick<MappingRule, 'matchType' | 'pattern' | 'caseSensitive'>): RuleKey {
  const { matchType, pattern, caseSensitive } = rule;
  if (pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH) return { kind: 'always' };
  if (matchType === MatchType.EXACT) {
    if (caseSensitive) return { kind: 'exact', text: pattern, folded: false };
    if (isAscii(pattern)) return { kind: 'exact', text: pattern.toLowerCase(), folded: true };
  }
  const prefix =
    matchType === MatchType.EXACT
      ? leadingAscii(pattern)
      : matchType === MatchType.GLOB
        ? globPrefix(pattern)
        : matchType === MatchType.REGEX
          ? regexPrefix(pattern)
          : '';
  if (!prefix) return { kind: 'always' };
  const text = prefix.slice(0, MAX_PREFIX);
  return caseSensitive ? { kind: 'prefix', text, folded: false } : { kind: 'prefix', text: text.toLowerCase(), folded: true };
}

const isAscii = (text: string) => [...text].every((c) => c.charCodeAt(0) <= 0x7f);

function leadingAscii(text: string): string {
  let end = 0;
  while (end < text.length && text.charCodeAt(end) <= 0x7f) end++;
  return text.slice(0, end);
}

/** The literal text before a glob's first wildcard or class (ASCII only). */
function globPrefix(glob: string): string {
  let out = '';
  for (const c of glob) {
    if (c === '*' || c === '?' || c === '[' || c.charCodeAt(0) > 0x7f) break;
    out += c;
  }
  return out;
}

/** ASCII characters that stand for themselves outside a class in RE2 syntax. */
const REGEX_LITERAL = /[A-Za-z0-9_\-@/:,=%&~!'"<># ]/;
/** ASCII punctuation a backslash makes literal in RE2 syntax. */
const REGEX_ESCAPABLE = /[!-/:-@[-`{-~]/;

/**
 * Literal text every full match of the RE2 `pattern` starts with, or '' when it cannot be told
 * simply: a pattern with an alternation at its top level, or starting with a flag group, gives
 * ''; otherwise the leading literal characters (and `\`-escaped punctuation), less the last one
 * when a quantifier follows it.
 */
function regexPrefix(pattern: string): string {
  if (pattern.startsWith('(?') || hasTopLevelAlternation(pattern)) return '';
  let out = '';
  let i = 0;
  for (;;) {
    const c = pattern[i];
    if (c === undefined) return out;
    if (c === '\\' && pattern[i + 1] !== undefined && REGEX_ESCAPABLE.test(pattern[i + 1])) {
      out += pattern[i + 1];
      i += 2;
    } else if (REGEX_LITERAL.test(c)) {
      out += c;
      i += 1;
    } else {
      break;
    }
  }
  const next = pattern[i];
  return next === '*' || next === '?' || next === '+' || next === '{' ? out.slice(0, -1) : out;
}

/** Whether `|` appears outside every group and class of the RE2 `pattern` (when unsure: true). */
function hasTopLevelAlternation(pattern: string): boolean {
  let depth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      if (pattern[i + 1] === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        if (end < 0) return true;
        i = end + 1;
      } else {
        i++;
      }
    } else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '^') j++;
      if (pattern[j] === ']') j++;
      for (; j < pattern.length && pattern[j] !== ']'; j++) {
        if (pattern[j] === '\\') j++;
        else if (pattern[j] === '[' && pattern[j + 1] === ':') {
          const end = pattern.indexOf(':]', j + 2);
          if (end < 0) return true;
          j = end + 1;
        }
      }
      if (j >= pattern.length) return true;
      i = j;
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      if (--depth < 0) return true;
    } else if (c === '|' && depth === 0) {
      return true;
    }
  }
  return depth !== 0;
}

/**
 * `value` with the characters that RE2's case-insensitive matching (Unicode simple case folding)
 * equates with an ASCII letter written as that lowercase letter: A–Z, U+212A KELVIN SIGN (k) and
 * U+017F LATIN SMALL LETTER LONG S (s); a test checks that no other character folds onto ASCII.
 * Keys of case-insensitive rules are lowercase ASCII, so a value can match one only if its
 * folded form holds the key.
 */
function foldAscii(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 65 && code <= 90) out += String.fromCharCode(code + 32);
    else if (code === 0x212a) out += 'k';
    else if (code === 0x017f) out += 's';
    else out += value[i];
  }
  return out;
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
      source = re2().quote(pattern);
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
    compiled = re2().compile(source, caseSensitive ? 0 : re2().CASE_INSENSITIVE);
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
        out += re2().quote('[');
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
      out += re2().quote(c);
    }
  }
  return out;
}

/** RE2, loaded on first use: ~0.5 MB of heap that a server without pattern rules need not hold. */
let re2js: typeof RE2JS | undefined;
function re2(): typeof RE2JS {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (re2js ??= (require('re2js') as typeof import('re2js')).RE2JS);
}

function escapeClassMember(c: string): string {
  return `\\x{${c.codePointAt(0)!.toString(16)}}`;
}
