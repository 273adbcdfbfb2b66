import type { EntityManager } from '@mikro-orm/postgresql';
import { Group } from '../../src/groups/group.entity';
import { GroupMappingRule, MatchType } from '../../src/sso/group-mapping-rule.entity';
import { Permission } from '../../src/permissions/permission.entity';
import type { PermissionName } from '../../src/permissions/registry';
import { MembershipSource, UserGroup } from '../../src/users/user-group.entity';
import { User } from '../../src/users/user.entity';

let counter = 0;
const unique = (prefix: string) => `${prefix}${++counter}_${process.pid}`;

async function permissions(em: EntityManager, names: readonly PermissionName[]): Promise<Permission[]> {
  const all = await em.find(Permission, {});
  return names.map((name) => {
    const found = all.find((p) => p.fullName === name);
    if (!found) throw new Error(`no permission ${name} in the test database`);
    return found;
  });
}

/** A group holding `perms`. */
export async function makeGroup(em: EntityManager, perms: readonly PermissionName[] = [], name = unique('group')): Promise<Group> {
  const group = em.create(Group, { name });
  group.permissions.set(await permissions(em, perms));
  await em.flush();
  return group;
}

export interface UserSpec {
  username?: string;
  isActive?: boolean;
  isSuperuser?: boolean;
  isStaff?: boolean;
  groups?: Group[];
  perms?: readonly PermissionName[];
  password?: string | null;
}

/** A user in `groups` with direct grants `perms` (membership source: admin). */
export async function makeUser(em: EntityManager, spec: UserSpec = {}): Promise<User> {
  const user = em.create(User, {
    username: spec.username ?? unique('user'),
    isActive: spec.isActive ?? true,
    isSuperuser: spec.isSuperuser ?? false,
    isStaff: spec.isStaff ?? false,
    password: spec.password ?? null,
  });
  user.userPermissions.set(await permissions(em, spec.perms ?? []));
  for (const group of spec.groups ?? []) em.create(UserGroup, { user, group, source: MembershipSource.ADMIN });
  await em.flush();
  return user;
}

/** An enabled EXACT mapping rule from `pattern` (in the groups claim) to `group`. */
export async function makeRule(em: EntityManager, group: Group, pattern = unique('DIRECTORY_GROUP_')): Promise<GroupMappingRule> {
  const rule = em.create(GroupMappingRule, { group, pattern, matchType: MatchType.EXACT });
  await em.flush();
  return rule;
}
