import type { Group } from '../../src/groups/group.entity';
import { GatehouseError } from '../../src/errors';
import { GroupMappingRule, MatchType } from '../../src/sso/group-mapping-rule.entity';
import { compilePattern, evaluateRules, readClaim } from '../../src/sso/mapping';
import { decideLogin } from '../../src/sso/login-decision';

let nextId = 1;
function rule(spec: Partial<Omit<GroupMappingRule, 'group'>> & { pattern: string; groupId: number }): GroupMappingRule {
  const { groupId, ...fields } = spec;
  return Object.assign(new GroupMappingRule(), { id: nextId++, group: { id: groupId, name: `g${groupId}` } as Group }, fields);
}

const GROUPS = 'https://gatehouse.dev/ad/groups';

describe('readClaim', () => {
  it('reads a namespaced top-level claim whose name contains dots', () => {
    expect(readClaim({ [GROUPS]: ['A'] }, GROUPS)).toEqual(['A']);
  });

  it('prefers an exact top-level key over a dotted path', () => {
    expect(readClaim({ 'a.b': 'flat', a: { b: 'nested' } }, 'a.b')).toBe('flat');
  });

  it('follows dotted paths into nested objects (Keycloak realm and client roles)', () => {
    const claims = { realm_access: { roles: ['admin'] }, resource_access: { gatehouse: { roles: ['viewer'] } } };
    expect(readClaim(claims, 'realm_access.roles')).toEqual(['admin']);
    expect(readClaim(claims, 'resource_access.gatehouse.roles')).toEqual(['viewer']);
  });

  it('returns undefined for a missing claim, a path through a non-object and prototype keys', () => {
    expect(readClaim({ groups: ['A'] }, 'roles')).toBeUndefined();
    expect(readClaim({ groups: ['A'] }, 'groups.length')).toBeUndefined();
    expect(readClaim({ a: 'text' }, 'a.b')).toBeUndefined();
    expect(readClaim({}, '__proto__')).toBeUndefined();
    expect(readClaim({}, 'constructor.name')).toBeUndefined();
    expect(readClaim({ a: 1 }, '')).toBeUndefined();
  });
});

describe('compilePattern', () => {
  it('EXACT compares the whole value, case-sensitively or not', () => {
    expect(compilePattern(MatchType.EXACT, 'B2E_X', true)('B2E_X')).toBe(true);
    expect(compilePattern(MatchType.EXACT, 'B2E_X', true)('b2e_x')).toBe(false);
    expect(compilePattern(MatchType.EXACT, 'B2E_X', false)('b2e_x')).toBe(true);
    expect(compilePattern(MatchType.EXACT, 'B2E.X', false)('B2EzX')).toBe(false);
    expect(compilePattern(MatchType.EXACT, 'B2E_X', true)('B2E_X2')).toBe(false);
  });

  it('GLOB knows * ? and [classes], is anchored, and takes everything else literally', () => {
    const email = compilePattern(MatchType.GLOB, '*@example.com', false);
    expect(email('Carl.Sagan@Example.COM')).toBe(true);
    expect(email('carl@example.com.evil')).toBe(false);
    expect(email('carl@exampleXcom')).toBe(false);
    expect(compilePattern(MatchType.GLOB, 'B2E_?', true)('B2E_A')).toBe(true);
    expect(compilePattern(MatchType.GLOB, 'B2E_?', true)('B2E_AB')).toBe(false);
    expect(compilePattern(MatchType.GLOB, 'team-[a-c]', true)('team-b')).toBe(true);
    expect(compilePattern(MatchType.GLOB, 'team-[a-c]', true)('team-d')).toBe(false);
    expect(compilePattern(MatchType.GLOB, 'team-[!a-c]', true)('team-d')).toBe(true);
    expect(compilePattern(MatchType.GLOB, '[*]', true)('*')).toBe(true);
    expect(compilePattern(MatchType.GLOB, 'a(b)+c$', true)('a(b)+c$')).toBe(true);
    expect(compilePattern(MatchType.GLOB, 'open[bracket', true)('open[bracket')).toBe(true);
  });

  it('REGEX matches the whole value, with case folding on request', () => {
    const admins = compilePattern(MatchType.REGEX, 'B2E_APP_(SUPPORT|DEVELOPER)', true);
    expect(admins('B2E_APP_SUPPORT')).toBe(true);
    expect(admins('xB2E_APP_SUPPORT')).toBe(false);
    expect(admins('B2E_APP_SUPPORTx')).toBe(false);
    expect(compilePattern(MatchType.REGEX, 'b2e_app_.*', false)('B2E_APP_VIEWER')).toBe(true);
    expect(compilePattern(MatchType.REGEX, 'b2e_app_.*', true)('B2E_APP_VIEWER')).toBe(false);
  });

  it('runs in linear time even for a pattern that backtracks catastrophically elsewhere', () => {
    const evil = compilePattern(MatchType.REGEX, '(a+)+b', true);
    const started = performance.now();
    expect(evil('a'.repeat(100_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it.each([
    [MatchType.REGEX, '(unclosed'],
    [MatchType.REGEX, '[z-a]'],
    [MatchType.REGEX, '(a)\\1'],
    [MatchType.REGEX, '(?=lookahead)x'],
    [MatchType.REGEX, '(?<=a)b'],
    [MatchType.REGEX, 'a{2000}'],
    [MatchType.GLOB, '[z-a]'],
    [MatchType.EXACT, ''],
    [MatchType.GLOB, 'x'.repeat(256)],
  ])('refuses the %s pattern %j with BAD_USER_INPUT naming input.pattern', (matchType, pattern) => {
    let thrown: unknown;
    try {
      compilePattern(matchType, pattern, true);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GatehouseError);
    expect(thrown).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'input.pattern' } });
  });
});

describe('evaluateRules', () => {
  const viewer = rule({ pattern: 'B2E_APP_MANAGEMENT_VIEWER', matchType: MatchType.EXACT, groupId: 1 });
  const support = rule({ pattern: 'B2E_APP_MANAGEMENT_SUPPORT', matchType: MatchType.EXACT, groupId: 2 });
  const anyB2e = rule({ pattern: 'b2e_app_*', matchType: MatchType.GLOB, caseSensitive: false, groupId: 3 });
  const devRegex = rule({ pattern: 'B2E_APP_MANAGEMENT_(DEVELOPER|SUPPORT)', matchType: MatchType.REGEX, groupId: 4 });
  const disabled = rule({ pattern: 'B2E_APP_MANAGEMENT_SUPPORT', enabled: false, groupId: 5 });
  const byEmail = rule({ claim: 'email', pattern: '*@example.com', matchType: MatchType.GLOB, caseSensitive: false, groupId: 6 });
  const keycloak = rule({ claim: 'realm_access.roles', pattern: 'gatehouse-admin', groupId: 7 });
  const rules = [viewer, support, anyB2e, devRegex, disabled, byEmail, keycloak];

  it('applies every matching rule (union), ignores disabled ones, and names the claim and value', () => {
    const result = evaluateRules(rules, { [GROUPS]: ['B2E_APP_MANAGEMENT_SUPPORT', 'Other'] }, GROUPS);
    expect(result.matches.map((m) => [m.rule.id, m.claim, m.value])).toEqual([
      [support.id, GROUPS, 'B2E_APP_MANAGEMENT_SUPPORT'],
      [anyB2e.id, GROUPS, 'B2E_APP_MANAGEMENT_SUPPORT'],
      [devRegex.id, GROUPS, 'B2E_APP_MANAGEMENT_SUPPORT'],
    ]);
    expect(result.groupIds).toEqual([2, 3, 4]);
    expect(result.groupsClaimProblem).toBeNull();
  });

  it('respects case sensitivity per rule', () => {
    const result = evaluateRules(rules, { [GROUPS]: ['b2e_app_management_viewer'] }, GROUPS);
    expect(result.groupIds).toEqual([3]);
  });

  it('reads a rule’s own claim, e.g. an e-mail glob, or a nested path; a single string in the groups claim only with allowString', () => {
    const result = evaluateRules(
      rules,
      { [GROUPS]: ['Other'], email: 'Carl@Example.com', realm_access: { roles: ['gatehouse-admin'] } },
      GROUPS,
    );
    expect(result.matches.map((m) => [m.claim, m.value])).toEqual([
      ['email', 'Carl@Example.com'],
      ['realm_access.roles', 'gatehouse-admin'],
    ]);
    expect(result.groupIds).toEqual([6, 7]);
    expect(evaluateRules([viewer], { [GROUPS]: 'B2E_APP_MANAGEMENT_VIEWER' }, GROUPS, { allowString: true }).groupIds).toEqual([1]);
    // By default a single string is not the list the contract asks for: it grants nothing (fail closed).
    expect(evaluateRules([viewer], { [GROUPS]: 'B2E_APP_MANAGEMENT_VIEWER' }, GROUPS)).toMatchObject({
      groupIds: [],
      groupsClaimProblem: 'not_a_list',
    });
  });

  it('never matches an entry that is not a string', () => {
    const anything = rule({ pattern: '.*', matchType: MatchType.REGEX, groupId: 9 });
    const roles = rule({ claim: 'roles', pattern: '.*', matchType: MatchType.REGEX, groupId: 10 });
    expect(evaluateRules([anything], { [GROUPS]: [1, true, null, { name: 'x' }, ['x']] }, GROUPS).groupIds).toEqual([]);
    expect(evaluateRules([anything], { [GROUPS]: 42 }, GROUPS).groupIds).toEqual([]);
    expect(evaluateRules([roles], { [GROUPS]: ['A'], roles: [7, 'admin'] }, GROUPS).matches.map((m) => m.value)).toEqual(['admin']);
  });

  it('fails closed on a groups claim that is not a list of strings: even its string entries grant nothing', () => {
    const result = evaluateRules(rules, { [GROUPS]: ['B2E_APP_MANAGEMENT_VIEWER', 5], email: 'a@example.com' }, GROUPS);
    expect(result.groupsClaimProblem).toBe('not_a_string_list');
    expect(result.matches.map((m) => m.claim)).toEqual(['email']);
  });

  it('tells the four groups-claim problems apart', () => {
    expect(evaluateRules(rules, { email: 'a@example.com' }, GROUPS).groupsClaimProblem).toBe('missing');
    expect(evaluateRules(rules, { [GROUPS]: null }, GROUPS).groupsClaimProblem).toBe('missing');
    expect(evaluateRules(rules, { [GROUPS]: [] }, GROUPS).groupsClaimProblem).toBe('empty');
    expect(evaluateRules(rules, { [GROUPS]: 'B2E' }, GROUPS, { allowString: true }).groupsClaimProblem).toBeNull();
    expect(evaluateRules(rules, { [GROUPS]: '' }, GROUPS, { allowString: true }).groupsClaimProblem).toBe('empty');
    expect(evaluateRules(rules, { [GROUPS]: 'B2E' }, GROUPS).groupsClaimProblem).toBe('not_a_list');
    expect(evaluateRules(rules, { [GROUPS]: [1, 2] }, GROUPS).groupsClaimProblem).toBe('not_a_string_list');
    expect(evaluateRules(rules, { [GROUPS]: ['A', 2] }, GROUPS).groupsClaimProblem).toBe('not_a_string_list');
    expect(evaluateRules(rules, { [GROUPS]: { A: true } }, GROUPS).groupsClaimProblem).toBe('not_a_string_list');
    expect(evaluateRules(rules, { [GROUPS]: 7 }, GROUPS).groupsClaimProblem).toBe('not_a_string_list');
  });

  it('lets a stored rule whose pattern no longer compiles match nothing', () => {
    const broken = rule({ pattern: '(', matchType: MatchType.REGEX, groupId: 8 });
    expect(evaluateRules([broken, viewer], { [GROUPS]: ['B2E_APP_MANAGEMENT_VIEWER', '('] }, GROUPS).groupIds).toEqual([1]);
  });
});

describe('decideLogin', () => {
  const matched = evaluateRules([rule({ pattern: 'A', groupId: 1 })], { groups: ['A'] }, 'groups');
  const unmatched = evaluateRules([rule({ pattern: 'A', groupId: 1 })], { groups: ['B'] }, 'groups');
  const missing = evaluateRules(
    [rule({ claim: 'email', pattern: '*', matchType: MatchType.GLOB, groupId: 1 })],
    { email: 'a@b.c' },
    'groups',
  );

  it('lets in a sign-in that some rule matches', () => {
    expect(decideLogin(matched, true)).toEqual({ allowed: true, refusal: null });
  });

  it('refuses a sign-in that no rule matches unless SSO_REQUIRE_MAPPED_GROUP is off', () => {
    expect(decideLogin(unmatched, true)).toEqual({ allowed: false, refusal: 'no_matching_rule' });
    expect(decideLogin(unmatched, false)).toEqual({ allowed: true, refusal: null });
  });

  it('names the groups-claim problem behind a refusal; a rule on another claim may still let the sign-in in', () => {
    const nothing = evaluateRules([rule({ pattern: 'A', groupId: 1 })], { groups: [] }, 'groups');
    expect(decideLogin(nothing, true)).toEqual({ allowed: false, refusal: 'groups_claim_empty' });
    expect(missing.matches).toHaveLength(1);
    expect(decideLogin(missing, true)).toEqual({ allowed: true, refusal: null });
  });
});
