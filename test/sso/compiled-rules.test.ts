import { RE2JS } from 're2js';
import { openOrm } from '../../src/db/orm';
import { MatchType } from '../../src/sso/group-mapping-rule.entity';
import { compilePattern, compileRules, readClaim, type MappingRule } from '../../src/sso/mapping';
import { enabledRules } from '../../src/sso/rule-cache';
import { makeGroup, makeRule } from '../support/factories';
import { createTestDatabase, type TestDatabase } from '../support/database';

/*
 * The compiled rules (mapping.ts `compileRules`, rule-cache.ts): the same answers as testing
 * every rule on every value, at 5,000 rules in well under a millisecond, and the rules in force
 * in every instance as soon as any changes them.
 */

const GROUPS = 'groups';

/** What `evaluateRules` did before rules were compiled: every enabled rule tried on every value. */
function reference(rules: readonly MappingRule[], claims: Record<string, unknown>, allowString = false) {
  const value = readClaim(claims, GROUPS);
  const bad =
    value === undefined || value === null
      ? null
      : typeof value === 'string'
        ? allowString
          ? null
          : 'not_a_list'
        : !Array.isArray(value) || !value.every((v) => typeof v === 'string')
          ? 'not_a_string_list'
          : null;
  const matches: Array<[number, string, string]> = [];
  for (const rule of rules) {
    if (!rule.enabled) continue;
    const claim = rule.claim ?? GROUPS;
    if (claim === GROUPS && bad) continue;
    let test: (v: string) => boolean;
    try {
      test = compilePattern(rule.matchType, rule.pattern, rule.caseSensitive);
    } catch {
      continue;
    }
    const raw = readClaim(claims, claim);
    const values = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw.filter((v): v is string => typeof v === 'string') : [];
    const found = values.find(test);
    if (found !== undefined) matches.push([rule.id, claim, found]);
  }
  return matches;
}

/** A small deterministic generator (mulberry32), so a failure names its seed. */
function random(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  return { next, pick };
}

// Characters that fold onto ASCII under RE2's case-insensitive matching (K, ſ) among the rest.
const ALPHABET = ['a', 'A', 'b', 'B', 'k', 'K', '\u212a', 's', 'S', '\u017f', '_', '-', '.', '1', 'é', 'É', '*', '|'];
const REGEX_PIECES = [
  'a',
  'b',
  'K',
  's',
  '_',
  '\\.',
  '.',
  '.*',
  'a+',
  'b?',
  'k*',
  '(a|b)',
  '[ab]',
  '[^a]',
  '\\d',
  'a{2}',
  '(?i)s',
  '\\Qa.b\\E',
  '|',
  '(',
  ')',
  '\\p{L}',
  '[[:alpha:]]',
  'é',
];

function randomRule(r: ReturnType<typeof random>, id: number): MappingRule {
  const matchType = r.pick([MatchType.EXACT, MatchType.GLOB, MatchType.REGEX]);
  const length = 1 + Math.floor(r.next() * 5);
  const parts = Array.from({ length }, () =>
    matchType === MatchType.REGEX
      ? r.pick(REGEX_PIECES)
      : matchType === MatchType.GLOB
        ? r.pick([...ALPHABET, '?', '[ab]', '[!a]', '*'])
        : r.pick(ALPHABET),
  );
  return {
    id,
    claim: r.pick([null, null, null, 'roles', 'email']),
    matchType,
    pattern: parts.join(''),
    caseSensitive: r.next() < 0.5,
    enabled: r.next() < 0.9,
    group: { id: 1 + Math.floor(r.next() * 20), name: 'g' },
  };
}

function randomValue(r: ReturnType<typeof random>): string {
  return Array.from({ length: Math.floor(r.next() * 6) }, () => r.pick(ALPHABET.filter((c) => c !== '*' && c !== '|'))).join('');
}

describe('compileRules', () => {
  it('gives exactly the matches of testing every rule on every value (2,000 random rule sets and claims)', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const r = random(seed);
      const rules = Array.from({ length: 1 + Math.floor(r.next() * 30) }, (_, i) => randomRule(r, i + 1));
      const values = () => Array.from({ length: Math.floor(r.next() * 4) }, () => randomValue(r));
      const claims: Record<string, unknown> = {
        [GROUPS]: r.next() < 0.1 ? randomValue(r) : r.next() < 0.05 ? [1, 'a'] : values(),
        roles: values(),
        email: randomValue(r),
      };
      const allowString = r.next() < 0.5;
      const compiled = compileRules(rules, GROUPS).evaluate(claims, { allowString });
      expect([seed, compiled.matches.map((m) => [m.rule.id, m.claim, m.value])]).toEqual([seed, reference(rules, claims, allowString)]);
    }
  });

  it('folds onto ASCII exactly the characters RE2’s case-insensitive matching does: K (U+212A) and ſ (U+017F) only', () => {
    const letters = RE2JS.compile('[a-z]', RE2JS.CASE_INSENSITIVE);
    const others = RE2JS.compile('[ -@\\[-`{-~]', RE2JS.CASE_INSENSITIVE);
    const foldingOntoLetters: number[] = [];
    const foldingOntoOthers: number[] = [];
    for (let code = 0x80; code <= 0x10ffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const c = String.fromCodePoint(code);
      if (letters.matches(c)) foldingOntoLetters.push(code);
      if (others.matches(c)) foldingOntoOthers.push(code);
    }
    expect(foldingOntoLetters).toEqual([0x017f, 0x212a]);
    expect(foldingOntoOthers).toEqual([]);
  });

  it('maps a person against 5,000 rules (2,500 EXACT, 1,250 GLOB, 1,250 REGEX) in well under 1 ms', () => {
    const rules: MappingRule[] = [];
    const rule = (matchType: MatchType, pattern: string) =>
      rules.push({
        id: rules.length + 1,
        claim: null,
        matchType,
        pattern,
        caseSensitive: true,
        enabled: true,
        group: { id: rules.length % 1004, name: 'g' },
      });
    for (let n = 0; n < 2500; n++) rule(MatchType.EXACT, `B2E_DEPT_${n}`);
    for (let n = 0; n < 1250; n++) rule(MatchType.GLOB, `B2E_TEAM_${n}_*`);
    for (let n = 0; n < 1250; n++) rule(MatchType.REGEX, `B2E_ROLE_${n}_(ADMIN|USER)`);
    const compiled = compileRules(rules, GROUPS);
    const person = (n: number) => ({
      [GROUPS]: [`B2E_DEPT_${n % 2500}`, `B2E_TEAM_${(n * 7) % 1250}_EU`, `B2E_ROLE_${(n * 13) % 1250}_USER`, `B2E_SITE_${n % 40}`],
    });
    for (let n = 0; n < 2000; n++) expect(compiled.evaluate(person(n)).matches).toHaveLength(3); // compiles the patterns used
    const times: number[] = [];
    for (let n = 0; n < 2000; n++) {
      const started = performance.now();
      compiled.evaluate(person(n));
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    expect(times[1000]).toBeLessThan(1);
  });
});

describe('the rules in force (rule-cache.ts)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it('are the same object while nothing changes, and every instance sees a change made by another at its next mapping', async () => {
    const other = await openOrm({ clientUrl: db.url, poolMax: 2 }); // a second Gatehouse instance
    try {
      const group = await makeGroup(db.orm.em.fork(), []);
      await makeRule(db.orm.em.fork(), group, 'FIRST');
      const first = await enabledRules(db.orm.em.fork(), GROUPS);
      expect(first.rules.evaluate({ [GROUPS]: ['FIRST'] }).groupIds).toEqual([group.id]);
      expect(await enabledRules(db.orm.em.fork(), GROUPS)).toBe(first);

      await makeRule(other.em.fork(), group, 'SECOND');
      const second = await enabledRules(db.orm.em.fork(), GROUPS);
      expect(second.version).not.toBe(first.version);
      expect(second.rules.evaluate({ [GROUPS]: ['SECOND'] }).matches.map((m) => m.rule.pattern)).toEqual(['SECOND']);

      await other.em.fork().execute('update auth_group set name = ? where id = ?', ['renamed', group.id]);
      expect((await enabledRules(db.orm.em.fork(), GROUPS)).rules.evaluate({ [GROUPS]: ['FIRST'] }).matches[0].rule.group.name).toBe(
        'renamed',
      );
      await other.em.fork().execute('update sso_groupmappingrule set enabled = false where pattern = ?', ['FIRST']);
      expect((await enabledRules(db.orm.em.fork(), GROUPS)).rules.evaluate({ [GROUPS]: ['FIRST'] }).matches).toEqual([]);
      await other.em.fork().execute('delete from auth_group where id = ?', [group.id]); // its rules go with it (cascade)
      expect((await enabledRules(db.orm.em.fork(), GROUPS)).rules.size).toBe(0);
    } finally {
      await other.close(true);
    }
  });

  it('never keeps the rules of a transaction that changed them and rolled back under a version another change commits', async () => {
    const group = await makeGroup(db.orm.em.fork(), []);
    await expect(
      db.orm.em.fork().transactional(async (tx) => {
        await makeRule(tx, group, 'ROLLED_BACK');
        // Mapped inside the transaction that wrote the rule: the cache sees its uncommitted version.
        expect((await enabledRules(tx, GROUPS)).rules.evaluate({ [GROUPS]: ['ROLLED_BACK'] }).matches).toHaveLength(1);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await makeRule(db.orm.em.fork(), group, 'COMMITTED');
    const rules = (await enabledRules(db.orm.em.fork(), GROUPS)).rules;
    expect(rules.evaluate({ [GROUPS]: ['ROLLED_BACK'] }).matches).toEqual([]);
    expect(rules.evaluate({ [GROUPS]: ['COMMITTED'] }).matches).toHaveLength(1);
  });
});
