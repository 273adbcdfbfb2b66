import type { Collection } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { setChange, type ChangeMessage } from '../audit/audit.service';
import { unknownValues } from '../errors';
import { Permission } from './permission.entity';

/*
 * Granting permissions by name, the same way to a user (direct grants) and to a group: the names
 * are checked against the database before anything is written, and the change is described for
 * the admin log as what was added and removed.
 */

/**
 * The permissions named `names` (`app_label.codename`), from the database; any unknown name is
 * BAD_USER_INPUT naming `field` and every unknown name, before anything is written.
 */
export async function permissionsNamed(em: EntityManager, names: readonly string[], field = 'permissions'): Promise<Permission[]> {
  const wanted = [...new Set(names)];
  const all = await em.find(Permission, {}, { orderBy: { appLabel: 'asc', model: 'asc', codename: 'asc' } });
  const byName = new Map(all.map((p) => [p.fullName, p]));
  const unknown = wanted.filter((name) => !byName.has(name));
  if (unknown.length) throw unknownValues(field, 'permission', unknown);
  return wanted.map((name) => byName.get(name)!);
}

/**
 * Sets the loaded collection `granted` (a user's or a group's permissions) to exactly `wanted` and
 * returns the admin-log message naming `field` and what was added and removed; null, and nothing
 * set, when it already held exactly those.
 */
export function replaceGrants(granted: Collection<Permission>, wanted: readonly Permission[], field: string): ChangeMessage | null {
  const current = granted.getItems();
  const message = setChange(
    field,
    wanted.filter((p) => !current.includes(p)).map((p) => p.fullName),
    current.filter((p) => !wanted.includes(p)).map((p) => p.fullName),
  );
  if (message) granted.set([...wanted]);
  return message;
}
