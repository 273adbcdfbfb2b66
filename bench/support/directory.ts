/**
 * The bench's single sign-on directory and mapping rules, derived from numbers so that the
 * identity provider (bench/servers/idp.ts), the seeded SSO identities (their last claims and
 * rule-granted memberships, bench/support/data.ts) and the workloads agree without a file.
 *
 * Person `u<n>` signs in with password `bench`; their groups claim holds four values. The 5,000
 * rules are half EXACT (matched by value) and half patterns compiled with RE2 (GLOB and REGEX),
 * and every person matches exactly three of them: one of each kind.
 */

export const IDP_PASSWORD = 'bench';
export const GROUPS_CLAIM = 'groups';
/** Audience of the provider's JWT access tokens that Gatehouse accepts (OIDC_API_AUDIENCE). */
export const API_AUDIENCE = 'https://gatehouse.bench/api';
/** Groups the rules map onto: `dept-0000` … `dept-1003`. */
export const MAPPED_GROUPS = 1004;
export const RULE_COUNT = 5000;

const EXACT_RULES = 2500;
const GLOB_RULES = 1250;
const REGEX_RULES = 1250;

export const subjectOf = (n: number) => `u${n}`;
export const groupName = (index: number) => `dept-${String(index).padStart(4, '0')}`;

/** The claims the provider releases for person `n` (ID token and access tokens alike). */
export function claimsFor(n: number): Record<string, unknown> {
  return {
    sub: subjectOf(n),
    email: `u${n}@bench.example`,
    email_verified: true,
    given_name: 'Bench',
    family_name: `Person ${n}`,
    name: `Bench Person ${n}`,
    [GROUPS_CLAIM]: [
      `B2E_DEPT_${n % EXACT_RULES}`,
      `B2E_TEAM_${(n * 7) % GLOB_RULES}_EU`,
      `B2E_ROLE_${(n * 13) % REGEX_RULES}_USER`,
      `B2E_SITE_${n % 40}`,
    ],
  };
}

export interface BenchRule {
  matchType: 'EXACT' | 'GLOB' | 'REGEX';
  pattern: string;
  /** Index of the mapped group (see groupName). */
  group: number;
}

/** The 5,000 rules, in creation order. */
export function rules(): BenchRule[] {
  const out: BenchRule[] = [];
  for (let n = 0; n < EXACT_RULES; n++) out.push({ matchType: 'EXACT', pattern: `B2E_DEPT_${n}`, group: n % MAPPED_GROUPS });
  for (let n = 0; n < GLOB_RULES; n++) out.push({ matchType: 'GLOB', pattern: `B2E_TEAM_${n}_*`, group: (n * 3 + 1) % MAPPED_GROUPS });
  for (let n = 0; n < REGEX_RULES; n++)
    out.push({ matchType: 'REGEX', pattern: `B2E_ROLE_${n}_(ADMIN|USER)`, group: (n * 5 + 2) % MAPPED_GROUPS });
  return out;
}

/** Positions (in `rules()`) of the three rules person `n` matches. */
export function matchedRules(n: number): number[] {
  return [n % EXACT_RULES, EXACT_RULES + ((n * 7) % GLOB_RULES), EXACT_RULES + GLOB_RULES + ((n * 13) % REGEX_RULES)];
}
