import type { Permission } from './permission.entity';
import { permissionFromTuple, type PermissionBatch, type PermissionTuple } from './permissions.queries';

/** What an owner without grants has; frozen, shared. */
export const NO_PERMISSIONS: readonly Permission[] = Object.freeze([]);

/**
 * A request's identity map of permissions: each permission is one object however many users and
 * groups of the response carry it. Created with the request's loaders and dropped with them.
 */
export class PermissionIdentityMap {
  private readonly byId = new Map<number, Permission>();

  /** The permission of `tuple`, the same object each time. */
  permission(tuple: PermissionTuple): Permission {
    let permission = this.byId.get(tuple[0]);
    if (!permission) {
      permission = permissionFromTuple(tuple);
      this.byId.set(tuple[0], permission);
    }
    return permission;
  }

  /** Permissions already seen in this request, by id (each id must have been seen). */
  byIds(ids: readonly number[]): readonly Permission[] {
    return ids.map((id) => this.byId.get(id)!);
  }

  /** The permissions of each of `ownerIds` in `batch`, in `ownerIds` order (NO_PERMISSIONS for an owner without grants). */
  grantsOf(ownerIds: readonly number[], batch: PermissionBatch): Array<readonly Permission[]> {
    for (const tuple of batch.permissions) this.permission(tuple);
    const byOwner = new Map(batch.grants.map(([owner, permissionIds]) => [owner, this.byIds(permissionIds)]));
    return ownerIds.map((id) => byOwner.get(id) ?? NO_PERMISSIONS);
  }
}
