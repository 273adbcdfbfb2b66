import type { EntityManager } from '@mikro-orm/postgresql';
import { notFound } from '../errors';
import { evaluateRules } from '../sso/mapping';
import type { GroupMappingRule } from '../sso/group-mapping-rule.entity';
import { SsoIdentity } from '../sso/sso-identity.entity';
import { MembershipSource, UserGroup } from '../users/user-group.entity';
import { User } from '../users/user.entity';
import { mayGrant } from './grant-rule';
import { decidePermission, type PermissionReason } from './has-perm';
import type { PermissionName } from './registry';

export interface MembershipGrant {
  source: MembershipSource;
  /** The single sign-on mapping rule behind an SSO_RULE membership. */
  ruleId: number | null;
  rule: GroupMappingRule | null;
  /** The claim value the rule matched in the claims of the user's last sign-in, if it still matches. */
  claimValue: string | null;
}

export interface GroupGrant {
  groupId: number;
  groupName: string;
  /** Why the user is in the group: one entry per membership row (an admin, or each mapping rule). */
  memberships: MembershipGrant[];
}

export interface PermissionExplanation {
  user: User;
  permission: PermissionName;
  granted: boolean;
  reason: PermissionReason;
  /** True when the user holds the permission directly (whatever decided). */
  directGrant: boolean;
  /** Every group of the user that carries the permission (whatever decided), by name. */
  groups: GroupGrant[];
  /** Whether the user may grant the permission to another user or group (the granting rule, grant-rule.ts). */
  grantable: boolean;
}

/**
 * Explains whether user `userId` has `permission`: the policy's own decision (`decidePermission`,
 * the branches of `PermissionBackend`: inactive → no; superuser → yes; otherwise yes when
 * granted directly or through a group) on the user's grants, with those grants. They are
 * reported even when the first two branches decide, so an admin can see what reactivating or
 * demoting the user would leave. An unknown user is NOT_FOUND.
 *
 * @example
 *   await explainPermission(em, 7, 'core.view_tweet')
 *   // { granted: true, reason: 'GROUPS',
 *   //   groups: [{ groupName: 'viewer', memberships: [{ source: 'sso_rule', ruleId: 3, claimValue: 'B2E_APP_MANAGEMENT_VIEWER', … }] }], … }
 */
export async function explainPermission(
  em: EntityManager,
  userId: number,
  permission: PermissionName,
  options: { groupsClaim: string; groupsClaimAllowString?: boolean },
): Promise<PermissionExplanation> {
  const user = await em.findOne(User, userId);
  if (!user) throw notFound('user', userId);
  const [appLabel, codename] = permission.split('.');
  const direct = (await em.count(User, { id: userId, userPermissions: { appLabel, codename } })) > 0;
  const groups = await groupGrants(em, userId, { permissions: { appLabel, codename } }, options);
  const { granted, reason } = decidePermission(user, permission, { direct, throughGroups: groups.length > 0 });
  const grantable = mayGrant(user, new Set(granted ? [permission] : []), permission);
  return { user, permission, granted, reason, directGrant: direct, groups, grantable };
}

/** Options of the explanations: how the groups claim is read, to tell which value a rule matched. */
export interface ClaimReading {
  groupsClaim: string;
  groupsClaimAllowString?: boolean;
}

/**
 * Every group user `userId` is in, by name, each with why: one entry per membership — an admin's,
 * or a single sign-on mapping rule's with the claim value it matched in the claims of the user's
 * last sign-in (null when they no longer match, or the user never signed in through single sign-on).
 *
 * @example
 *   await explainMemberships(em, 7, { groupsClaim: 'groups' })
 *   // [{ groupName: 'support', memberships: [{ source: 'sso_rule', ruleId: 2, claimValue: 'B2E_APP_MANAGEMENT_SUPPORT', … }] }]
 */
export function explainMemberships(em: EntityManager, userId: number, options: ClaimReading): Promise<GroupGrant[]> {
  return groupGrants(em, userId, null, options);
}

async function groupGrants(
  em: EntityManager,
  userId: number,
  groupWhere: Record<string, unknown> | null,
  options: ClaimReading,
): Promise<GroupGrant[]> {
  const memberships = await em.find(UserGroup, groupWhere ? { user: userId, group: groupWhere } : { user: userId }, {
    populate: ['group', 'rule', 'rule.group'],
    orderBy: [{ group: { name: 'asc' } }, { id: 'asc' }],
  });
  // The claims presented at the user's last single sign-on say which value each rule matched.
  const identity = memberships.some((m) => m.rule)
    ? await em.findOne(SsoIdentity, { user: userId }, { orderBy: { lastLoginAt: 'desc' } })
    : null;
  const claimValueOf = (rule: GroupMappingRule) =>
    identity
      ? (evaluateRules([rule], identity.lastClaims, options.groupsClaim, { allowString: options.groupsClaimAllowString }).matches[0]
          ?.value ?? null)
      : null;
  const groups: GroupGrant[] = [];
  for (const membership of memberships) {
    let grant = groups.find((g) => g.groupId === membership.group.id);
    if (!grant) groups.push((grant = { groupId: membership.group.id, groupName: membership.group.name, memberships: [] }));
    const rule = membership.rule ?? null;
    grant.memberships.push({ source: membership.source, ruleId: rule?.id ?? null, rule, claimValue: rule ? claimValueOf(rule) : null });
  }
  return groups;
}
