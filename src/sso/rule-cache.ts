import type { EntityManager } from '@mikro-orm/postgresql';
import { MatchType } from './group-mapping-rule.entity';
import { CompiledRules, MatcherCache, type MappingRule } from './mapping';
import { RULES_VERSION_SQL } from './rule-set-version.entity';

/*
 * The enabled mapping rules, compiled once per version of the rule set and kept outside any
 * transaction, for everything that maps claims on the hot path: sign-ins, bearer tokens, session
 * refreshes and SCIM directory pushes. The version is a counter row PostgreSQL triggers increment
 * with every change to the rules or a group's name (`RuleSetVersion`), so every instance sees a
 * change made by any other at its next mapping: each mapping reads the counter (one primary-key
 * lookup), and only a new version loads the rules again — as plain rows, in one statement that
 * reads the counter too, so the rules cached under a version are exactly that version's.
 */

/** The enabled rules of one version, compiled for `groupsClaim`. */
export interface VersionedRules {
  version: string;
  rules: CompiledRules<MappingRule>;
}

type RuleTuple = [
  id: number,
  claim: string | null,
  matchType: MatchType,
  pattern: string,
  caseSensitive: boolean,
  groupId: number,
  groupName: string,
];

class RuleCache {
  private current: VersionedRules | null = null;
  private loading: Promise<VersionedRules> | null = null;
  private readonly matchers = new MatcherCache();

  constructor(private readonly groupsClaim: string) {}

  async get(em: EntityManager): Promise<VersionedRules> {
    const [row] = await em.execute<Array<{ version: string }>>(`select ${RULES_VERSION_SQL} as version`);
    const version = String(row?.version ?? '0');
    if (this.current?.version === version) return this.current;
    // Requests that find the same new version share one load; one that read another version
    // than the shared load found (a change in between) loads again, never mapping with rules
    // older than the version it read.
    this.loading ??= this.load(em).finally(() => (this.loading = null));
    const loaded = await this.loading;
    return loaded.version === version ? loaded : this.load(em);
  }

  private async load(em: EntityManager): Promise<VersionedRules> {
    const [row] = await em.execute<Array<{ version: string | null; rules: RuleTuple[] }>>(
      `select ${RULES_VERSION_SQL} as version,
              coalesce((select json_agg(json_build_array(r.id, r.claim, r.match_type, r.pattern, r.case_sensitive, g.id, g.name) order by r.id)
                          from sso_groupmappingrule r join auth_group g on g.id = r.group_id where r.enabled), '[]') as rules`,
    );
    const rules: MappingRule[] = row.rules.map(([id, claim, matchType, pattern, caseSensitive, groupId, groupName]) => ({
      id,
      claim,
      matchType,
      pattern,
      caseSensitive,
      enabled: true,
      group: { id: groupId, name: groupName },
    }));
    this.matchers.retain(rules);
    const loaded = { version: String(row.version ?? '0'), rules: new CompiledRules(rules, this.groupsClaim, this.matchers) };
    this.current = loaded;
    return loaded;
  }
}

// One cache per database connection pool (MikroORM instance) and groups claim: forks and
// transactions of an EntityManager share their driver.
const caches = new WeakMap<object, Map<string, RuleCache>>();

/**
 * The enabled rules in force, compiled, for `groupsClaim`: cached per version of the rule set
 * (see above); `em` may be a transaction, whose snapshot the version and rules are read in.
 */
export function enabledRules(em: EntityManager, groupsClaim: string): Promise<VersionedRules> {
  const driver = em.getDriver();
  let byClaim = caches.get(driver);
  if (!byClaim) caches.set(driver, (byClaim = new Map()));
  let cache = byClaim.get(groupsClaim);
  if (!cache) byClaim.set(groupsClaim, (cache = new RuleCache(groupsClaim)));
  return cache.get(em);
}
