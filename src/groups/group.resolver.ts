import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { nodeKey } from '../db/ids';
import { pageSize, type Page } from '../db/keyset';
import { HasPermission } from '../graphql/access';
import { afterWrite, type GatehouseContext } from '../graphql/context';
import { AFTER_DESCRIPTION, DeletePayload, deleted, FIRST_DESCRIPTION } from '../graphql/conventions';
import { Permission } from '../permissions/permission.entity';
import { GRANT_RULE_SUMMARY } from '../permissions/grant-rule';
import { modelRef, permissionFor } from '../permissions/registry';
import type { User } from '../users/user.entity';
import { UserConnection } from '../users/user.types';
import { Group } from './group.entity';
import { CreateGroupInput, GroupConnection, GroupFilter, UpdateGroupInput } from './group.types';
import { findGroup, listGroups, MEMBER_ORDER } from './groups.queries';
import { createGroup, deleteGroup, setGroupPermissions, updateGroup } from './groups.service';

const GROUP = modelRef('auth', 'group');
const USER = modelRef('auth', 'user');
const PERMISSION = modelRef('auth', 'permission');

/**
 * Groups: queries, mutations, and their permissions and members. `Group.users` is a
 * connection, not a list: a group such as "all employees" can hold every user there is.
 */
@Resolver(() => Group)
export class GroupResolver {
  @Query(() => GroupConnection, { description: 'Groups whose name matches `filter`, by name (unique).' })
  @HasPermission(permissionFor(GROUP, 'view'))
  groups(
    @Ctx() { em }: GatehouseContext,
    @Arg('first', () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) after?: string | null,
    @Arg('filter', () => GroupFilter, { nullable: true, description: 'Which groups; omitted: all.' }) filter?: GroupFilter | null,
  ): Promise<Page<Group>> {
    return listGroups(em, { search: filter?.search, limit: pageSize(first), after });
  }

  @Query(() => Group, { nullable: true, description: 'The group with this id; null when there is none.' })
  @HasPermission(permissionFor(GROUP, 'view'))
  group(@Ctx() { em }: GatehouseContext, @Arg('id', () => ID, { description: 'The group’s id.' }) id: string): Promise<Group | null> {
    return findGroup(em, nodeKey(id, 'Group', 'id'));
  }

  @Mutation(() => Group, { description: 'Creates a group.' })
  @HasPermission(permissionFor(GROUP, 'add'))
  async createGroup(
    @Ctx() ctx: GatehouseContext,
    @Arg('input', () => CreateGroupInput, { description: 'The new group.' }) input: CreateGroupInput,
  ): Promise<Group> {
    return afterWrite(ctx, await createGroup(ctx.em, ctx.user!, input));
  }

  @Mutation(() => Group, { description: 'Changes the given fields of a group.' })
  @HasPermission(permissionFor(GROUP, 'change'))
  async updateGroup(
    @Ctx() ctx: GatehouseContext,
    @Arg('id', () => ID, { description: 'The group’s id.' }) id: string,
    @Arg('input', () => UpdateGroupInput, { description: 'The fields to change.' }) input: UpdateGroupInput,
  ): Promise<Group> {
    return afterWrite(ctx, await updateGroup(ctx.em, ctx.user!, nodeKey(id, 'Group', 'id'), input));
  }

  @Mutation(() => DeletePayload, { description: 'Deletes a group and its memberships (never its members).' })
  @HasPermission(permissionFor(GROUP, 'delete'))
  async deleteGroup(
    @Ctx() ctx: GatehouseContext,
    @Arg('id', () => ID, { description: 'The group’s id.' }) id: string,
  ): Promise<DeletePayload> {
    return afterWrite(ctx, deleted('Group', await deleteGroup(ctx.em, ctx.user!, nodeKey(id, 'Group', 'id'))));
  }

  @Mutation(() => Group, { description: `Sets the group’s permissions, by full name (core.view_tweet). ${GRANT_RULE_SUMMARY}` })
  @HasPermission(permissionFor(GROUP, 'change'))
  async setGroupPermissions(
    @Ctx() ctx: GatehouseContext,
    @Arg('id', () => ID, { description: 'The group’s id.' }) id: string,
    @Arg('permissions', () => [String], { description: 'Every permission of the group, as app_label.codename; [] for none.' })
    permissions: string[],
  ): Promise<Group> {
    return afterWrite(ctx, await setGroupPermissions(ctx.em, ctx.user!, nodeKey(id, 'Group', 'id'), permissions));
  }

  @FieldResolver(() => [Permission], { nullable: true, description: 'The group’s permissions, by id.' })
  @HasPermission(permissionFor(PERMISSION, 'view'))
  permissions(@Root() group: Group, @Ctx() { loaders }: GatehouseContext): readonly Permission[] | Promise<readonly Permission[]> {
    return loaders.groups.permissionsOf(group.id);
  }

  @FieldResolver(() => UserConnection, { nullable: true, description: 'The group’s members (by any membership), by username (unique).' })
  @HasPermission(permissionFor(USER, 'view'))
  async users(
    @Root() group: Group,
    @Ctx() { loaders }: GatehouseContext,
    @Arg('first', () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) after?: string | null,
  ): Promise<Page<User>> {
    const page = await loaders.groups.membersOf(group.id, { limit: pageSize(first), after: MEMBER_ORDER.decode(after) });
    return MEMBER_ORDER.pageOf(page.users, page.hasNextPage, () => loaders.groups.memberCount.load(group.id));
  }
}
