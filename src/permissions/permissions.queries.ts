import type { EntityManager } from '@mikro-orm/postgresql';
import { snapshotFactory } from '../db/snapshots';
import { intArray } from '../db/sql';
import { Permission } from './permission.entity';

/*
 * The read side of permission grants, shared by users (direct grants) and groups: permissions
 * come back as compact tuples built by PostgreSQL, one statement for a whole batch of owners.
 */

/** `[id, app_label, model, codename, name]` of auth_permission. */
export type PermissionTuple = [number, string, string, string, string];
/** `[owner id, permission ids in registry (id) order]`. */
export type GrantsTuple = [number, number[]];

export interface PermissionBatch {
  grants: GrantsTuple[];
  permissions: PermissionTuple[];
}

/** The permissions granted through `link` (a table of owner id → permission id) to each of `ownerIds`, in one statement. */
export async function loadPermissionsOf(
  em: EntityManager,
  link: { table: 'auth_user_user_permissions' | 'auth_group_permissions'; ownerColumn: 'user_id' | 'group_id' },
  ownerIds: readonly number[],
): Promise<PermissionBatch> {
  const [row] = await em.execute<PermissionBatch[]>(
    `with l as materialized (select x.${link.ownerColumn} as owner_id, x.permission_id from ${link.table} x where x.${link.ownerColumn} = any(?::int[]))
     select
       coalesce((select json_agg(json_build_array(o.owner_id, o.ids)) from (
         select l.owner_id, array_agg(l.permission_id order by l.permission_id) as ids from l group by l.owner_id) o), '[]') as grants,
       coalesce((select json_agg(json_build_array(p.id, p.app_label, p.model, p.codename, p.name))
                   from auth_permission p where p.id in (select permission_id from l)), '[]') as permissions`,
    [intArray(ownerIds)],
  );
  return row;
}

// `fullName` is a getter of Permission's prototype, so a snapshot has it too.
const permissionSnapshot = snapshotFactory(Permission, ['id', 'appLabel', 'model', 'codename', 'name']);

/** A read-only Permission built from a tuple (see snapshotFactory). */
export function permissionFromTuple([id, appLabel, model, codename, name]: PermissionTuple): Permission {
  return permissionSnapshot({ id, appLabel, model, codename, name });
}
