import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ActionFlag } from '../audit/log-entry.entity';
import { changedFields, logChange } from '../audit/audit.service';
import { nodeKey, toGlobalId } from '../db/ids';
import { findPage, type Page } from '../db/keyset';
import { translateDatabaseError } from '../db/database-errors';
import { badInput, GatehouseError, notFound } from '../errors';
import { Group } from '../groups/group.entity';
import { assertMayGrant } from '../permissions/grant-rule';
import { modelRef } from '../permissions/registry';
import type { User } from '../users/user.entity';
import { GroupMappingRule, MatchType, RULE_IDENTITY_INDEX, ruleIdentity } from './group-mapping-rule.entity';
import { decideLogin, type LoginDecision } from './login-decision';
import { withDirectoryGroups } from './directory';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { intArray } from '../db/sql';
import { USER_COLUMNS, userFromRow, type UserRow } from '../users/users.queries';
import { compilePattern, compileRules, readClaim, type GroupsClaimOptions, type MappingResult, type MappingRule } from './mapping';
import { enabledRules } from './rule-cache';

/**
 * Managing the mapping rules (`sso.GroupMappingRule`) and previewing what they do. Knows
 * nothing of GraphQL: the resolver checks the permissions, this validates, writes and logs.
 */

export const RULE_MODEL = modelRef('sso', 'groupmappingrule');

export interface RuleFields {
  /** null: the configured groups claim. */
  claim: string | null;
  matchType: MatchType;
  pattern: string;
  caseSensitive: boolean;
  groupId: number;
  enabled: boolean;
  description: string;
}

const MAX_CLAIM_LENGTH = 255;
const MAX_DESCRIPTION_LENGTH = 1000;

/** "GLOB *@example.com → viewer": how a rule reads in the admin log. */
export const ruleRepr = (rule: Pick<GroupMappingRule, 'matchType' | 'pattern' | 'claim'> & { group: Pick<Group, 'name'> }): string =>
  `${rule.claim ? `${rule.claim} ` : ''}${rule.matchType} ${rule.pattern} → ${rule.group.name}`;

function validateClaim(claim: string | null): string | null {
  if (claim === null) return null;
  const trimmed = claim.trim();
  if (trimmed === '') throw badInput('input.claim', 'must be a claim name or dotted path, or null for the groups claim');
  if (trimmed.length > MAX_CLAIM_LENGTH) throw badInput('input.claim', `must be at most ${MAX_CLAIM_LENGTH} characters`);
  return trimmed;
}

function validateDescription(description: string): string {
  if (description.length > MAX_DESCRIPTION_LENGTH)
    throw badInput('input.description', `must be at most ${MAX_DESCRIPTION_LENGTH} characters`);
  return description;
}

async function findGroup(em: EntityManager, groupId: number): Promise<Group> {
  const group = await em.findOne(Group, { id: groupId });
  if (!group) throw badInput('input.groupId', `no group has the id ${groupId}`);
  return group;
}

/**
 * A rule puts whoever matches it in its group, the actor included, so writing one is granting
 * the group's permissions: the granting rule (grant-rule.ts) applies to the group the rule
 * points at once written. `actor` null is Gatehouse itself (the seed).
 */
async function assertMayGrantGroup(tx: EntityManager, actor: User | null, group: Group): Promise<void> {
  if (!actor) return;
  await tx.populate(group, ['permissions']);
  await assertMayGrant(tx, actor, { permissions: group.permissions.getItems().map((p) => p.fullName), field: 'input.groupId' });
}

/**
 * The rule with this id (its global id, or for now its database key), its group loaded; null when
 * there is none. An id that is malformed or names another type is BAD_USER_INPUT, as for `user(id:)`.
 */
export async function findRule(em: EntityManager, id: string): Promise<GroupMappingRule | null> {
  return em.findOne(GroupMappingRule, { id: nodeKey(id, 'GroupMappingRule', 'id') }, { populate: ['group'] });
}

/**
 * The rule that `fields` would repeat — the same claim, match kind, case sensitivity, pattern
 * (as the engine compares it) and group, by the very expression of the unique index — other
 * than rule `except`; null when there is none.
 */
async function findSameRule(em: EntityManager, fields: RuleFields, except: number | null): Promise<GroupMappingRule | null> {
  const rows = await em.execute<Array<{ id: number }>>(
    `with "candidate" ("claim", "match_type", "case_sensitive", "pattern", "group_id") as (values (?::varchar, ?::text, ?::boolean, ?::varchar, ?::int))
     select r."id" from "sso_groupmappingrule" r, "candidate" c
     where (${ruleIdentity('r.')}) = (${ruleIdentity('c.')}) and r."id" <> ? limit 1`,
    [fields.claim, fields.matchType, fields.caseSensitive, fields.pattern, fields.groupId, except ?? 0],
  );
  return rows.length ? em.findOne(GroupMappingRule, { id: rows[0].id }, { populate: ['group'] }) : null;
}

/**
 * Runs a write of rule `except` (null: a new rule) with `fields`, turning a violation of the
 * rule's unique index into CONFLICT naming the rule that already says the same. The index
 * decides, so two identical rules written at once are refused too; the lookup after the
 * violation only names the winner.
 */
async function refusingDuplicates<T>(
  em: EntityManager,
  fields: () => RuleFields | null,
  except: number | null,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof UniqueConstraintViolationException)) throw translateDatabaseError(error);
    if ((error as UniqueConstraintViolationException & { constraint?: string }).constraint !== RULE_IDENTITY_INDEX)
      throw translateDatabaseError(error);
    const written = fields();
    const existing = written && (await findSameRule(em.fork(), written, except));
    throw new GatehouseError(
      'CONFLICT',
      existing
        ? `rule ${toGlobalId('GroupMappingRule', existing.id)} (${ruleRepr(existing)}) already maps this value to this group`
        : 'an identical rule already maps this value to this group',
      { field: 'input', ...(existing ? { ruleId: toGlobalId('GroupMappingRule', existing.id) } : {}) },
    );
  }
}

/** The rules, oldest first, as a Relay page. */
export function listRules(
  em: EntityManager,
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<Page<GroupMappingRule>> {
  return findPage(em, GroupMappingRule, {}, [['id', 'asc']], { first, after }, { populate: ['group'] });
}

/**
 * Creates a rule. A rule that says what an existing one says is CONFLICT naming that rule
 * (`refusingDuplicates`). An invalid pattern is BAD_USER_INPUT naming `input.pattern`, an unknown
 * group names `input.groupId`; a group whose permissions the actor does not all hold is
 * FORBIDDEN (the granting rule); the rule and its LogEntry are written in one transaction.
 */
export async function createRule(em: EntityManager, actor: User | null, fields: RuleFields): Promise<GroupMappingRule> {
  const claim = validateClaim(fields.claim);
  compilePattern(fields.matchType, fields.pattern, fields.caseSensitive);
  const description = validateDescription(fields.description);
  const written = { ...fields, claim, description };
  return refusingDuplicates(
    em,
    () => written,
    null,
    () =>
      em.transactional(async (tx) => {
        const group = await findGroup(tx, fields.groupId);
        await assertMayGrantGroup(tx, actor, group);
        const rule = tx.create(GroupMappingRule, {
          claim,
          matchType: fields.matchType,
          pattern: fields.pattern,
          caseSensitive: fields.caseSensitive,
          group,
          enabled: fields.enabled,
          description,
        });
        await tx.flush();
        logChange(tx, { actor, model: RULE_MODEL, objectId: rule.id, objectRepr: ruleRepr(rule), action: ActionFlag.ADDITION });
        await tx.flush();
        return rule;
      }),
  );
}

/**
 * Changes the given fields of rule `id` (undefined: unchanged; `claim: null`: back to the groups
 * claim). The pattern is validated against the resulting match type and case sensitivity.
 * Memberships the rule granted are re-evaluated at each user's next sign-in, not now. Any
 * change is refused (FORBIDDEN) when the actor does not hold every permission of the rule's group.
 */
export async function updateRule(
  em: EntityManager,
  actor: User | null,
  id: string,
  changes: Partial<RuleFields>,
): Promise<GroupMappingRule> {
  const ruleId = nodeKey(id, 'GroupMappingRule', 'id');
  let written: RuleFields | null = null;
  return refusingDuplicates(
    em,
    () => written,
    ruleId,
    () =>
      em.transactional(async (tx) => {
        const rule = await tx.findOne(GroupMappingRule, { id: ruleId }, { populate: ['group'] });
        if (!rule) throw notFound('group mapping rule', id);
        const next = {
          claim: changes.claim === undefined ? rule.claim : validateClaim(changes.claim),
          matchType: changes.matchType ?? rule.matchType,
          pattern: changes.pattern ?? rule.pattern,
          caseSensitive: changes.caseSensitive ?? rule.caseSensitive,
          enabled: changes.enabled ?? rule.enabled,
          description: changes.description === undefined ? rule.description : validateDescription(changes.description),
        };
        compilePattern(next.matchType, next.pattern, next.caseSensitive);
        const group = changes.groupId === undefined ? rule.group : await findGroup(tx, changes.groupId);
        const message = changedFields<Record<string, unknown>>({ ...rule, group: rule.group.id }, { ...next, group: group.id });
        if (!message) return rule;
        await assertMayGrantGroup(tx, actor, group);
        written = { ...next, groupId: group.id };
        tx.assign(rule, { ...next, group });
        logChange(tx, { actor, model: RULE_MODEL, objectId: rule.id, objectRepr: ruleRepr(rule), action: ActionFlag.CHANGE, message });
        await tx.flush();
        return rule;
      }),
  );
}

/**
 * Deletes rule `id`. The memberships it granted go with it (the foreign key cascades), so its
 * users lose those groups at once; memberships an admin assigned are untouched.
 */
export async function deleteRule(em: EntityManager, actor: User | null, id: string): Promise<void> {
  const ruleId = nodeKey(id, 'GroupMappingRule', 'id');
  await em.transactional(async (tx) => {
    const rule = await tx.findOne(GroupMappingRule, { id: ruleId }, { populate: ['group'] });
    if (!rule) throw notFound('group mapping rule', id);
    logChange(tx, { actor, model: RULE_MODEL, objectId: rule.id, objectRepr: ruleRepr(rule), action: ActionFlag.DELETION });
    tx.remove(rule);
    await tx.flush();
  });
}

/** Where a matched value came from: the token's claims, the directory groups provisioning pushed (SCIM), or both. */
export type MatchSource = 'token' | 'scim';

export interface MappingPreview {
  result: MappingResult<GroupMappingRule>;
  groups: Group[];
  decision: LoginDecision;
  /** For each of `result.matches`, in order: the sources that hold its value. */
  sources: MatchSource[][];
}

/**
 * What the enabled rules make of `claims`, with `directoryGroups` (a provisioned person's SCIM
 * groups) added to the groups claim as a sign-in adds them (`withDirectoryGroups`): matches,
 * where each matched value came from, groups and whether the login would pass.
 */
export async function previewMapping(
  em: EntityManager,
  claims: Record<string, unknown>,
  options: { groupsClaim: string; requireMappedGroup: boolean; groupsClaimAllowString?: boolean; directoryGroups?: readonly string[] },
): Promise<MappingPreview> {
  // The compiled rules of sign-ins; the matched rules are then read as entities for the answer.
  const { rules } = await enabledRules(em, options.groupsClaim);
  const directoryGroups = options.directoryGroups ?? [];
  const allowString = options.groupsClaimAllowString;
  const mapped = rules.evaluate(withDirectoryGroups(claims, options.groupsClaim, directoryGroups, { allowString }), { allowString });
  const entities = new Map(
    mapped.matches.length
      ? (await em.find(GroupMappingRule, { id: { $in: mapped.matches.map((m) => m.rule.id) } }, { populate: ['group'] })).map(
          (rule) => [rule.id, rule] as const,
        )
      : [],
  );
  // A rule deleted since the rules were read is left out, as a sign-in a moment later would.
  const matches = mapped.matches.flatMap((m) => {
    const rule = entities.get(m.rule.id);
    return rule ? [{ rule, claim: m.claim, value: m.value }] : [];
  });
  const result: MappingResult<GroupMappingRule> = {
    matches,
    groupIds: [...new Set(matches.map((m) => m.rule.group.id))].sort((a, b) => a - b),
    groupsClaimProblem: mapped.groupsClaimProblem,
  };
  const byId = new Map(matches.map((m) => [m.rule.group.id, m.rule.group]));
  const sources = result.matches.map((match): MatchSource[] => {
    const fromScim = match.claim === options.groupsClaim && directoryGroups.includes(match.value);
    const inToken = readClaim(claims, match.claim);
    const fromToken = inToken === match.value || (Array.isArray(inToken) && inToken.includes(match.value));
    return [...(fromToken ? (['token'] as const) : []), ...(fromScim ? (['scim'] as const) : [])];
  });
  return {
    result,
    groups: result.groupIds.map((id) => byId.get(id)!),
    decision: decideLogin(result, options.requireMappedGroup),
    sources,
  };
}

export interface ProposedRule extends RuleFields {
  /** The rule being changed; absent for a new rule. */
  id?: string | null;
}

export interface UserImpact {
  user: User;
  gained: MappedGroup[];
  lost: MappedGroup[];
}

/** A group as a preview names it. */
export type MappedGroup = Pick<Group, 'id' | 'name'>;

/** How long the preview computes before letting other work run: it never holds the event loop longer. */
const PREVIEW_SLICE_MS = 2;
/** How many identities' claims the preview reads at a time. */
const PREVIEW_BATCH = 250;

/**
 * For a proposed new rule or change: which SSO users would gain or lose which groups at their
 * next sign-in, judged on the claims each presented at their last one (`SsoIdentity.lastClaims`).
 * Compares what all rules grant now with what they would grant with the proposal applied; a
 * group the user also holds by another rule, or by an admin, is neither gained nor lost.
 * Validates the proposal as `createRule`/`updateRule` would; writes nothing.
 *
 * The rules in force are the compiled, versioned ones of sign-ins (`rule-cache.ts`), evaluated
 * once per identity; the proposal changes one rule, so what the rules would grant with it is
 * what they grant now without the rule it replaces, plus the proposal's group if it matches.
 * The identities are read as rows, PREVIEW_BATCH at a time, and evaluated in slices of at most
 * PREVIEW_SLICE_MS, yielding to the event loop between them, so other requests are served while a
 * preview over thousands of identities runs.
 */
export async function previewRuleChange(
  em: EntityManager,
  proposal: ProposedRule,
  groupsClaim: string,
  claimOptions: GroupsClaimOptions = {},
): Promise<UserImpact[]> {
  const claim = validateClaim(proposal.claim);
  compilePattern(proposal.matchType, proposal.pattern, proposal.caseSensitive);
  const group = await findGroup(em, proposal.groupId);
  let replaced: number | null = null;
  if (proposal.id !== undefined && proposal.id !== null) {
    const ruleId = nodeKey(proposal.id, 'GroupMappingRule', 'input.id');
    const [existing] = await em.execute<Array<{ id: number }>>('select id from sso_groupmappingrule where id = ?', [ruleId]);
    if (!existing) throw notFound('group mapping rule', proposal.id);
    replaced = existing.id;
  }
  const { rules: current } = await enabledRules(em, groupsClaim);
  const candidate: MappingRule = {
    id: replaced ?? 0,
    claim,
    matchType: proposal.matchType,
    pattern: proposal.pattern,
    caseSensitive: proposal.caseSensitive,
    enabled: proposal.enabled,
    group: { id: group.id, name: group.name },
  };
  const proposed = compileRules([candidate], groupsClaim);

  const groups = new Map<number, MappedGroup>([...current.rules, candidate].map((r) => [r.group.id, r.group]));
  const changes = new Map<number, { gained: Set<number>; lost: Set<number> }>();
  let slice = performance.now();
  // The identities in batches (by id): a bounded amount of claims in memory at a time.
  for (let afterId = 0; ;) {
    const batch = await em.execute<Array<{ id: number; user_id: number; last_claims: Record<string, unknown> | null }>>(
      'select i.id, i.user_id, i.last_claims from sso_identity i where i.id > ? order by i.id limit ?',
      [afterId, PREVIEW_BATCH],
    );
    for (const identity of batch) {
      if (performance.now() - slice > PREVIEW_SLICE_MS) {
        await yieldToEventLoop();
        slice = performance.now();
      }
      const claims = identity.last_claims ?? {};
      const now = current.evaluate(claims, claimOptions).matches;
      const before = new Set(now.map((m) => m.rule.group.id));
      const after = new Set(now.filter((m) => m.rule.id !== replaced).map((m) => m.rule.group.id));
      if (proposed.evaluate(claims, claimOptions).matches.length) after.add(group.id);
      const gained = [...after].filter((id) => !before.has(id));
      const lost = [...before].filter((id) => !after.has(id));
      if (!gained.length && !lost.length) continue;
      // A user with identities at several providers: the union of their changes.
      const entry = changes.get(identity.user_id) ?? { gained: new Set<number>(), lost: new Set<number>() };
      gained.forEach((id) => entry.gained.add(id));
      lost.forEach((id) => entry.lost.add(id));
      changes.set(identity.user_id, entry);
    }
    if (batch.length < PREVIEW_BATCH) break;
    afterId = batch[batch.length - 1].id;
  }
  // A group the user also holds through an admin is neither gained nor lost.
  const held = new Map<number, Set<number>>();
  const heldRows = changes.size
    ? await em.execute<Array<{ user_id: number; group_id: number }>>(
        'select ug.user_id, ug.group_id from auth_user_groups ug where ug.rule_id is null and ug.user_id = any(?::int[])',
        [intArray([...changes.keys()])],
      )
    : [];
  for (const row of heldRows) {
    const set = held.get(row.user_id) ?? new Set<number>();
    set.add(row.group_id);
    held.set(row.user_id, set);
  }
  const impacts = new Map<number, { gained: number[]; lost: number[] }>();
  for (const userId of [...changes.keys()].sort((a, b) => a - b)) {
    const { gained, lost } = changes.get(userId)!;
    const admin = held.get(userId) ?? new Set<number>();
    const kept = (ids: Set<number>) => [...ids].filter((id) => !admin.has(id)).sort((a, b) => a - b);
    const impact = { gained: kept(gained), lost: kept(lost) };
    if (impact.gained.length || impact.lost.length) impacts.set(userId, impact);
  }
  const users = new Map(
    impacts.size
      ? (
          await em.execute<UserRow[]>(`select ${USER_COLUMNS} from auth_user u where u.id = any(?::int[])`, [intArray([...impacts.keys()])])
        ).map((row) => [row.id, userFromRow(row)] as const)
      : [],
  );
  // (A user deleted meanwhile is left out.)
  return [...impacts]
    .filter(([userId]) => users.has(userId))
    .map(([userId, { gained, lost }]) => ({
      user: users.get(userId)!,
      gained: gained.map((id) => groups.get(id)!),
      lost: lost.map((id) => groups.get(id)!),
    }));
}
