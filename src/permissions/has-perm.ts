import type { EntityManager } from '@mikro-orm/postgresql';
import { ALL_PERMISSIONS, type AppLabel, type PermissionName } from './registry';

/** What the policy needs to know about a user. */
export interface PermissionSubject {
  readonly id: number;
  readonly isActive: boolean;
  readonly isSuperuser: boolean;
}

const EVERY_PERMISSION: ReadonlySet<string> = new Set(ALL_PERMISSIONS.map((p) => p.fullName));
const NOTHING: ReadonlySet<string> = new Set();

/** Which branch of the policy decides whether a user has a permission, in the order they are tried. */
export enum PermissionReason {
  /** An inactive user has no permission at all, superuser or not. */
  INACTIVE = 'INACTIVE',
  /** An active superuser has every permission. */
  SUPERUSER = 'SUPERUSER',
  /** Granted to the user directly (`auth_user_user_permissions`). */
  DIRECT_GRANT = 'DIRECT_GRANT',
  /** Granted only through one or more groups. */
  GROUPS = 'GROUPS',
  /** Neither granted directly nor through any group. */
  NONE = 'NONE',
}

/**
 * The first two branches, which decide before any grant is looked at: an inactive user has
 * nothing, an active superuser everything; null when the user's grants decide.
 */
function decidedWithoutGrants(user: PermissionSubject): { reason: PermissionReason; permissions: ReadonlySet<string> } | null {
  if (!user.isActive) return { reason: PermissionReason.INACTIVE, permissions: NOTHING };
  if (user.isSuperuser) return { reason: PermissionReason.SUPERUSER, permissions: EVERY_PERMISSION };
  return null;
}

/**
 * The policy's decision on one permission, and the branch that made it, given where the
 * permission is granted to the user (directly, through any group). What `hasPerm` answers, told
 * branch by branch, for explaining a decision rather than making one per request.
 *
 * @example
 *   decidePermission({ id: 7, isActive: true, isSuperuser: false }, 'core.view_tweet', { direct: false, throughGroups: true })
 *   // { granted: true, reason: 'GROUPS' }
 */
export function decidePermission(
  user: PermissionSubject,
  permission: PermissionName | string,
  grants: { direct: boolean; throughGroups: boolean },
): { granted: boolean; reason: PermissionReason } {
  const decided = decidedWithoutGrants(user);
  if (decided) return { granted: decided.permissions.has(permission), reason: decided.reason };
  if (grants.direct) return { granted: true, reason: PermissionReason.DIRECT_GRANT };
  if (grants.throughGroups) return { granted: true, reason: PermissionReason.GROUPS };
  return { granted: false, reason: PermissionReason.NONE };
}

/**
 * The permission policy, Django's `ModelBackend` exactly:
 * - an inactive user has no permission, superuser or not;
 * - an active superuser has every permission that exists (the registry's), and no other;
 * - anyone else has the union of their direct grants and the permissions of all their groups.
 *
 * One instance per request: a user's permissions are computed with at most one SQL statement
 * (none for the signed-in user, whose permissions come with the session: see `prime`) and
 * reused until the request ends, so a change of groups or grants applies to the very next
 * request and never leaks across requests.
 *
 * @example
 *   const perms = new PermissionBackend(em);
 *   await perms.hasPerm(user, 'core.view_tweet'); // true for a member of `viewer`
 */
export class PermissionBackend {
  private readonly cache = new Map<number, Promise<ReadonlySet<string>>>();
  private readonly resolved = new Map<number, ReadonlySet<string>>();

  constructor(private readonly em: EntityManager) {}

  /** Every permission the user has, as `app_label.codename`. */
  getAllPermissions(user: PermissionSubject): Promise<ReadonlySet<string>> {
    const decided = decidedWithoutGrants(user);
    if (decided) return Promise.resolve(decided.permissions);
    let pending = this.cache.get(user.id);
    if (!pending) {
      const loading = loadPermissions(this.em, user.id);
      pending = loading;
      loading.then(
        (all) => this.cache.get(user.id) === loading && this.resolved.set(user.id, all),
        () => this.cache.get(user.id) === loading && this.cache.delete(user.id),
      );
      this.cache.set(user.id, loading);
    }
    return pending;
  }

  /**
   * The user's permissions when they are already known in this request, without I/O;
   * undefined when they still have to be loaded (use `getAllPermissions`).
   */
  peek(user: PermissionSubject): ReadonlySet<string> | undefined {
    return decidedWithoutGrants(user)?.permissions ?? this.resolved.get(user.id);
  }

  /** True when the user has `perm`. Unknown names are never granted. */
  async hasPerm(user: PermissionSubject, perm: PermissionName | string): Promise<boolean> {
    return (await this.getAllPermissions(user)).has(perm);
  }

  /** True when the user has every one of `perms` (true for an empty list, as in Django). */
  async hasPerms(user: PermissionSubject, perms: Iterable<PermissionName | string>): Promise<boolean> {
    const all = await this.getAllPermissions(user);
    for (const perm of perms) if (!all.has(perm)) return false;
    return true;
  }

  /** True when the user has any permission in the app `appLabel`. */
  async hasModulePerms(user: PermissionSubject, appLabel: AppLabel | string): Promise<boolean> {
    const prefix = `${appLabel}.`;
    for (const perm of await this.getAllPermissions(user)) if (perm.startsWith(prefix)) return true;
    return false;
  }

  /**
   * Hands the backend the permissions of `userId` loaded by this request (with
   * `grantedPermissionsSql`, the same direct ∪ groups as `getAllPermissions` would load), so
   * that asking for them needs no query. Only what an active non-superuser has is read from
   * here: the policy answers for inactive users and superusers before looking, whatever was primed.
   *
   * @example
   *   perms.prime(user.id, ['core.view_tweet']);
   *   perms.peek(user); // Set { 'core.view_tweet' }, no I/O
   */
  prime(userId: number, names: Iterable<string>): void {
    const all: ReadonlySet<string> = new Set(names);
    this.cache.set(userId, Promise.resolve(all));
    this.resolved.set(userId, all);
  }

  /** Forgets what was computed for `userId` (after changing that user's grants mid-request). */
  forget(userId: number): void {
    this.cache.delete(userId);
    this.resolved.delete(userId);
  }
}

/**
 * A `select` of one column, `name`: the `app_label.codename` of every permission granted to the
 * user whose id is the SQL expression `userId` (a constant of the caller's, never input),
 * directly or through any of their groups, each once. The grants only: whether they count
 * (inactive, superuser) is `PermissionBackend`'s call.
 *
 * @example
 *   em.execute(grantedPermissionsSql('?'), [id, id]);               // one row per permission
 *   `select array(${grantedPermissionsSql('u.id')}) from auth_user u` // or an array per user
 */
export function grantedPermissionsSql(userId: string): string {
  return `select p.app_label || '.' || p.codename as name
       from auth_permission p
      where p.id in (select up.permission_id from auth_user_user_permissions up where up.user_id = ${userId})
         or p.id in (select gp.permission_id from auth_group_permissions gp
                       join auth_user_groups ug on ug.group_id = gp.group_id
                      where ug.user_id = ${userId})`;
}

async function loadPermissions(em: EntityManager, userId: number): Promise<ReadonlySet<string>> {
  const rows = await em.execute<Array<{ name: string }>>(grantedPermissionsSql('?'), [userId, userId]);
  return new Set(rows.map((row) => row.name));
}
