import type { EntityManager } from '@mikro-orm/postgresql';
import { ActionFlag } from '../audit/log-entry.entity';
import { logChange } from '../audit/audit.service';
import { Group } from '../groups/group.entity';
import { seedReferenceGroups, type SeedResult } from '../groups/seed';
import { GroupMappingRule, MatchType } from './group-mapping-rule.entity';
import { RULE_MODEL, ruleRepr } from './mapping-rules.service';

/**
 * The original project's mapping: each directory group (in the groups claim) to its reference
 * group, EXACT and case-sensitive.
 */
export const REFERENCE_RULES: ReadonlyArray<{ pattern: string; group: string }> = [
  { pattern: 'B2E_APP_MANAGEMENT_VIEWER', group: 'viewer' },
  { pattern: 'B2E_APP_MANAGEMENT_SUPPORT', group: 'support' },
  { pattern: 'B2E_APP_MANAGEMENT_BUSINESS', group: 'business' },
  { pattern: 'B2E_APP_MANAGEMENT_DEVELOPER', group: 'developer' },
];

/**
 * Creates the reference mapping rules that do not exist yet (a rule on the groups claim with
 * the same pattern and group counts as existing, whatever its other settings, so an admin's
 * later edits survive). Needs the reference groups (`seedReferenceGroups`) first. Idempotent;
 * one transaction; each rule created is logged with no actor. Returns the rules created, as
 * "PATTERN → group".
 */
export async function seedReferenceRules(em: EntityManager): Promise<string[]> {
  return em.transactional(async (tx) => {
    const groups = await tx.find(Group, { name: REFERENCE_RULES.map((r) => r.group) });
    const existing = await tx.find(GroupMappingRule, { claim: null, pattern: REFERENCE_RULES.map((r) => r.pattern) });
    const created: GroupMappingRule[] = [];
    for (const { pattern, group: groupName } of REFERENCE_RULES) {
      const group = groups.find((g) => g.name === groupName);
      if (!group) throw new Error(`group ${groupName} is missing: seed the reference groups first`);
      if (existing.some((r) => r.pattern === pattern && r.group.id === group.id)) continue;
      created.push(
        tx.create(GroupMappingRule, {
          claim: null,
          matchType: MatchType.EXACT,
          pattern,
          caseSensitive: true,
          group,
          enabled: true,
          description: 'reference rule (gatehouse seed)',
        }),
      );
    }
    if (!created.length) return [];
    await tx.flush();
    for (const rule of created)
      logChange(tx, { actor: null, model: RULE_MODEL, objectId: rule.id, objectRepr: ruleRepr(rule), action: ActionFlag.ADDITION });
    await tx.flush();
    return created.map((r) => `${r.pattern} → ${r.group.name}`);
  });
}

/**
 * What `gatehouse seed` does: the reference groups and then their mapping rules, in one
 * transaction, so a failure leaves neither half behind.
 */
export async function seedReferenceGroupsAndRules(em: EntityManager): Promise<{ groups: SeedResult; rules: string[] }> {
  return em.transactional(async (tx) => ({ groups: await seedReferenceGroups(tx), rules: await seedReferenceRules(tx) }));
}
