import type { EntityManager } from '@mikro-orm/postgresql';
import { ALL_PERMISSIONS, modelRef, type AppLabel, type PermissionName } from '../permissions/registry';
import { Permission } from '../permissions/permission.entity';
import { logChange, setChange } from '../audit/audit.service';
import { ActionFlag } from '../audit/log-entry.entity';
import { Group } from './group.entity';

const GROUP = modelRef('auth', 'group');

const permissionsOf = (appLabel: AppLabel, ...codenamePrefixes: string[]): PermissionName[] =>
  ALL_PERMISSIONS.filter((p) => p.appLabel === appLabel && codenamePrefixes.some((prefix) => p.codename.startsWith(prefix))).map(
    (p) => p.fullName,
  );

/**
 * The original project's reference groups, exactly:
 * `viewer` views the core models; `business` views and changes them; `support` does everything
 * on them; `developer` is support plus viewing users, groups, permissions and the admin log.
 */
export const REFERENCE_GROUPS: Readonly<Record<string, readonly PermissionName[]>> = {
  viewer: permissionsOf('core', 'view_'),
  business: permissionsOf('core', 'view_', 'change_'),
  support: permissionsOf('core', 'add_', 'change_', 'delete_', 'view_'),
  developer: [
    ...permissionsOf('core', 'add_', 'change_', 'delete_', 'view_'),
    ...permissionsOf('auth', 'view_'),
    ...permissionsOf('admin', 'view_'),
  ],
};

export interface SeedResult {
  createdGroups: string[];
  /** Groups whose permissions were missing some of the reference set, with what was added. */
  completedGroups: Array<{ group: string; added: string[] }>;
}

/**
 * Creates the reference groups and gives each its reference permissions. Idempotent: a group
 * that exists keeps any extra permissions an admin gave it, and only missing ones are added,
 * so a second run changes nothing. Runs in one transaction.
 */
export async function seedReferenceGroups(em: EntityManager): Promise<SeedResult> {
  return em.transactional(async (tx) => {
    const permissions = await tx.find(Permission, {});
    const byName = new Map(permissions.map((p) => [p.fullName, p]));
    const groups = await tx.find(Group, { name: Object.keys(REFERENCE_GROUPS) }, { populate: ['permissions'] });
    const result: SeedResult = { createdGroups: [], completedGroups: [] };
    const touched: Group[] = [];
    for (const [name, wanted] of Object.entries(REFERENCE_GROUPS)) {
      let group: Group | undefined = groups.find((g) => g.name === name);
      if (!group) {
        group = tx.create(Group, { name });
        result.createdGroups.push(name);
      }
      const have = new Set(group.permissions.getItems().map((p) => p.fullName));
      const missing = wanted.filter((perm) => !have.has(perm));
      for (const perm of missing) {
        const permission = byName.get(perm);
        if (!permission) throw new Error(`permission ${perm} is missing: run \`gatehouse migrate\` first`);
        group.permissions.add(permission);
      }
      if (missing.length > 0 && !result.createdGroups.includes(name)) result.completedGroups.push({ group: name, added: missing });
      if (missing.length > 0 || result.createdGroups.includes(name)) touched.push(group);
    }
    if (!touched.length) return result;
    await tx.flush();
    // Each group created or completed is logged with no actor (the command line has no account), in this transaction.
    for (const group of touched) {
      const completed = result.completedGroups.find((c) => c.group === group.name);
      logChange(tx, {
        actor: null,
        model: GROUP,
        objectId: group.id,
        objectRepr: group.name,
        action: completed ? ActionFlag.CHANGE : ActionFlag.ADDITION,
        message: [...(completed ? (setChange('permissions', [...completed.added], []) ?? []) : [{ added: {} }]), { command: 'seed' }],
      });
    }
    await tx.flush();
    return result;
  });
}
