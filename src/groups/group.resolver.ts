import { Arg, Ctx, Field, FieldResolver, ID, InputType, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { notFound } from '../errors';
import { HasPermission } from '../graphql/access';
import { Connection, pageSize, toPage, type Page } from '../graphql/connection';
import type { GatehouseContext } from '../graphql/context';
import { Permission } from '../permissions/permission.entity';
import { modelRef, permissionFor } from '../permissions/registry';
import type { User } from '../users/user.entity';
import { afterWrite, UserConnection } from '../users/user.resolver';
import { idOrNull } from '../users/user.types';
import { Group } from './group.entity';
import { decodeMemberCursor, findGroup, listGroups } from './groups.queries';
import { createGroup, deleteGroup, setGroupPermissions, updateGroup } from './groups.service';

const GROUP = modelRef('auth', 'group');
const USER = modelRef('auth', 'user');
const PERMISSION = modelRef('auth', 'permission');

export const GroupConnection = Connection(Group);

@InputType()
export class GroupFilter {
  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the name.' })
  search?: string | null;
}

@InputType()
export class CreateGroupInput {
  @Field(() => String, { description: '1-150 characters, unique.' })
  name!: string;
}

@InputType({ description: 'Only the fields given are changed.' })
export class UpdateGroupInput {
  @Field(() => String, { nullable: true })
  name?: string | null;
}

const existingId = (value: string) => {
  const id = idOrNull(value);
  if (id === null) throw notFound('group', value);
  return id;
};

/**
 * Groups: queries, mutations, and their permissions and members. `Group.users` is a
 * connection, not a list: a group such as "all employees" can hold every user there is.
 */
@Resolver(() => Group)
export class GroupResolver {
  @Query(() => GroupConnection, { description: 'Groups whose name matches `filter`, by name.' })
  @HasPermission(permissionFor(GROUP, 'view'))
  groups(
    @Ctx() { em }: GatehouseContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('filter', () => GroupFilter, { nullable: true }) filter?: GroupFilter | null,
  ): Promise<Page<Group>> {
    return listGroups(em, { search: filter?.search, limit: pageSize(first), after });
  }

  @Query(() => Group, { nullable: true, description: 'The group with this id; null when there is none.' })
  @HasPermission(permissionFor(GROUP, 'view'))
  group(@Ctx() { em }: GatehouseContext, @Arg('id', () => ID) id: string): Promise<Group | null> {
    const key = idOrNull(id);
    return key === null ? Promise.resolve(null) : findGroup(em, key);
  }

  @Mutation(() => Group, { description: 'Creates a group.' })
  @HasPermission(permissionFor(GROUP, 'add'))
  async createGroup(@Ctx() ctx: GatehouseContext, @Arg('input', () => CreateGroupInput) input: CreateGroupInput): Promise<Group> {
    return afterWrite(ctx, await createGroup(ctx.em, ctx.user!, input));
  }

  @Mutation(() => Group, { description: 'Changes the given fields of a group.' })
  @HasPermission(permissionFor(GROUP, 'change'))
  async updateGroup(
    @Ctx() ctx: GatehouseContext,
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateGroupInput) input: UpdateGroupInput,
  ): Promise<Group> {
    return afterWrite(ctx, await updateGroup(ctx.em, ctx.user!, existingId(id), input));
  }

  @Mutation(() => ID, { description: 'Deletes a group and its memberships (never its members) and returns its id.' })
  @HasPermission(permissionFor(GROUP, 'delete'))
  async deleteGroup(@Ctx() ctx: GatehouseContext, @Arg('id', () => ID) id: string): Promise<string> {
    return afterWrite(ctx, String(await deleteGroup(ctx.em, ctx.user!, existingId(id))));
  }

  @Mutation(() => Group, { description: 'Sets the group’s permissions, by full name (core.view_tweet).' })
  @HasPermission(permissionFor(GROUP, 'change'))
  async setGroupPermissions(
    @Ctx() ctx: GatehouseContext,
    @Arg('id', () => ID) id: string,
    @Arg('permissions', () => [String]) permissions: string[],
  ): Promise<Group> {
    return afterWrite(ctx, await setGroupPermissions(ctx.em, ctx.user!, existingId(id), permissions));
  }

  @FieldResolver(() => [Permission], { nullable: true, description: 'The group’s permissions, in app, model, codename order.' })
  @HasPermission(permissionFor(PERMISSION, 'view'))
  permissions(@Root() group: Group, @Ctx() { loaders }: GatehouseContext): readonly Permission[] | Promise<readonly Permission[]> {
    return loaders.permissionsOfGroup(group.id);
  }

  @FieldResolver(() => UserConnection, { nullable: true, description: 'The group’s members (by any membership), by username.' })
  @HasPermission(permissionFor(USER, 'view'))
  async users(
    @Root() group: Group,
    @Ctx() { loaders }: GatehouseContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<Page<User>> {
    const limit = pageSize(first);
    const page = await loaders.membersOfGroup(group.id, { limit, afterUsername: decodeMemberCursor(after) });
    // `toPage` wants the look-ahead row; the loader already told whether there is one.
    const rows = page.hasNextPage ? [...page.users, page.users[0]] : page.users;
    return toPage(
      rows,
      limit,
      (user) => [user.username],
      () => loaders.memberCountOfGroup.load(group.id),
    );
  }
}
