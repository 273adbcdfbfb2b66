import type { EntityManager } from '@mikro-orm/postgresql';
import { LogEntry, ActionFlag } from '../audit/log-entry.entity';
import { readClaim, type RuleMatch } from '../sso/mapping';
import { enabledRules } from '../sso/rule-cache';
import { syncRuleMemberships } from '../sso/sso-login.steps';
import type { DirectoryGroupsSource } from '../sso/directory';
import { ScimGroup, ScimGroupMember } from './scim-group.entity';
import { ScimUser } from './scim-user.entity';

/*
 * SCIM groups are directory groups: what the mapping rules see of them, and the membership sync
 * that follows each change the directory pushes.
 *
 * What a SCIM group presents to the rules: its `displayName`, as one value of the groups claim
 * (OIDC_GROUPS_CLAIM, under that exact name), for each of its members — as if the provider's
 * token had carried `"<groups claim>": ["<displayName>", …]`. So an EXACT rule with pattern
 * `B2E_APP_MANAGEMENT_SUPPORT` on the groups claim matches a SCIM group of that name, and GLOB
 * and REGEX rules match names as they match claim values. Rules on other claims (`email`, …) read
 * the claims of the person's last sign-in.
 *
 * When the two sources meet:
 * - at a sign-in, the token's groups and the person's SCIM groups count together (a union:
 *   `withDirectoryGroups`, src/sso/directory.ts);
 * - when SCIM changes a person's groups, the rules are evaluated on the claims of their last
 *   sign-in (none before the first) with the groups claim made of their SCIM groups, plus the
 *   token's groups that are not SCIM groups at that issuer: for a group the directory pushes,
 *   SCIM's word is the current one; a group it does not push keeps what the last token said.
 * Either way the memberships follow through `syncRuleMemberships`, the sign-in's own sync
 * (SSO_RULE memberships, admin ones untouched), and are re-evaluated at once, not at the next
 * sign-in: a person removed from a directory group loses the Gatehouse groups it granted before
 * their next request.
 */

/** The SCIM groups of an identity, by name: the `DirectoryGroupsSource` single sign-on reads at each sign-in. */
export const scimDirectoryGroups: DirectoryGroupsSource = {
  sql: `coalesce((select json_agg(g.display_name order by g.display_name)
                    from scim_group g
                    join scim_group_members m on m.group_id = g.id
                    join scim_user u on u.id = m.member_id
                   where u.identity_id = i.id and g.issuer = i.issuer), '[]')::text`,
  async read(em, issuer, subject) {
    const [row] = await em.execute<Array<{ groups: string }>>(
      `select ${scimDirectoryGroups.sql} as groups from sso_identity i where i.issuer = ? and i.subject = ?`,
      [issuer, subject],
    );
    return row ? (JSON.parse(row.groups) as string[]) : [];
  },
};

/** What a directory push changed for one user. */
export interface DirectorySync {
  user: ScimUser;
  matches: RuleMatch[];
  groupsAdded: string[];
  groupsRemoved: string[];
}

/**
 * Re-evaluates the mapping rules for the SCIM users `scimUserIds` of `issuer` after their SCIM
 * groups changed, and syncs their rule memberships; writes an admin-log entry (app `sso`, model
 * `scim`) for each user whose groups changed. Within `tx`; flushes.
 */
export async function syncDirectoryMemberships(
  tx: EntityManager,
  issuer: string,
  scimUserIds: readonly string[],
  context: { groupsClaim: string; tokenId: number },
): Promise<DirectorySync[]> {
  const ids = [...new Set(scimUserIds)];
  if (!ids.length) return [];
  await tx.flush();
  const users = await tx.find(ScimUser, { id: { $in: ids } }, { populate: ['user', 'identity'] });
  const memberships = await tx.find(ScimGroupMember, { member: { $in: ids } }, { populate: ['group'] });
  // The same compiled rules as a sign-in (sso/rule-cache.ts).
  const { rules } = await enabledRules(tx, context.groupsClaim);
  const tokenGroups = new Map(users.map((u) => [u.id, stringValues(readClaim(u.identity.lastClaims, context.groupsClaim))]));
  const named = [...new Set([...tokenGroups.values()].flat())];
  const pushed = new Set(
    named.length
      ? (await tx.find(ScimGroup, { issuer, displayName: { $in: named } }, { fields: ['displayName'] })).map((g) => g.displayName)
      : [],
  );
  const results: DirectorySync[] = [];
  for (const scimUser of users) {
    const scimGroups = memberships.filter((m) => m.member.id === scimUser.id).map((m) => m.group.displayName);
    const kept = (tokenGroups.get(scimUser.id) ?? []).filter((name) => !pushed.has(name));
    const claims = {
      ...scimUser.identity.lastClaims,
      sub: scimUser.identity.subject,
      [context.groupsClaim]: [...new Set([...scimGroups, ...kept])].sort(),
    };
    const { matches } = rules.evaluate(claims);
    const { groupsAdded, groupsRemoved } = await syncRuleMemberships(tx, scimUser.user, matches);
    if (groupsAdded.length || groupsRemoved.length) {
      // Not through logChange: a directory push is an event of app `sso`, as a sign-in is.
      tx.create(LogEntry, {
        user: null,
        appLabel: 'sso',
        model: 'scim',
        objectId: String(scimUser.user.id),
        objectRepr: scimUser.user.username,
        actionFlag: ActionFlag.CHANGE,
        changeMessage: [
          {
            scim_groups: {
              issuer,
              subject: scimUser.identity.subject,
              provisioningToken: context.tokenId,
              directoryGroups: scimGroups.sort(),
              rulesMatched: matches.map((m) => ({ rule: m.rule.id, claim: m.claim, value: m.value, group: m.rule.group.name })),
              groupsAdded,
              groupsRemoved,
            },
          },
        ],
      });
    }
    results.push({ user: scimUser, matches, groupsAdded, groupsRemoved });
  }
  await tx.flush();
  return results;
}

function stringValues(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
