import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { nodeKey, nodeKeyOrNull } from '../db/ids';
import { pageSize, type Page } from '../db/keyset';
import { unknownValues } from '../errors';
import { HasPermission } from '../graphql/access';
import { afterWrite, type GatehouseContext } from '../graphql/context';
import { AFTER_DESCRIPTION, DeletePayload, deleted, FIRST_DESCRIPTION } from '../graphql/conventions';
import { selects } from '../graphql/selection';
import { Group } from '../groups/group.entity';
import { Permission } from '../permissions/permission.entity';
import { GRANT_RULE_SUMMARY } from '../permissions/grant-rule';
import { modelRef, permissionFor } from '../permissions/registry';
import { User } from './user.entity';
import { CreateUserInput, Membership, UpdateUserInput, UserConnection, UserFilter, UserOrder } from './user.types';
import type { UserMembership } from './users.loaders';
import { findUser, listUsers } from './users.queries';
import {
  createUser,
  deleteUser,
  revokeUserSessions,
  setUserGroups,
  setUserPassword,
  setUserPermissions,
  updateUser,
} from './users.service';

const USER = modelRef('auth', 'user');
const GROUP = modelRef('auth', 'group');
const PERMISSION = modelRef('auth', 'permission');

/**
 * Users: queries, mutations and the fields that reach into groups and permissions. Every
 * access declaration is derived from the registry; the directive checks it before any of
 * these methods runs, so nothing is looked up for a caller without it.
 */
@Resolver(() => User)
export class UserResolver {
  @Query(() => UserConnection, { description: 'Users matching `filter`, in `orderBy` order (keyset pages; ties by id).' })
  @HasPermission(permissionFor(USER, 'view'))
  async users(
    @Ctx() { em, loaders }: GatehouseContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('first', () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) after?: string | null,
    @Arg('filter', () => UserFilter, { nullable: true, description: 'Which users; omitted: all.' }) filter?: UserFilter | null,
    @Arg('orderBy', () => UserOrder, { nullable: true, defaultValue: UserOrder.USERNAME_ASC, description: 'The order of the list.' })
    orderBy?: UserOrder | null,
  ): Promise<Page<User>> {
    const groupId = filter?.groupId ? nodeKey(filter.groupId, 'Group', 'filter.groupId') : null;
    const page = await listUsers(em, {
      filter: { ...filter, groupId },
      order: orderBy ?? UserOrder.USERNAME_ASC,
      limit: pageSize(first),
      after,
    });
    // The page's groups in one statement now, so that each row's `groups` resolves without a promise.
    if (page.edges.length && selects(info, ['edges', 'node'], ['groups', 'memberships']))
      await loaders.users.prefetchGroups(page.edges.map((edge) => edge.node.id));
    return page;
  }

  @Query(() => User, { nullable: true, description: 'The user with this id; null when there is none.' })
  @HasPermission(permissionFor(USER, 'view'))
  user(@Ctx() { em }: GatehouseContext, @Arg('id', () => ID, { description: 'The user’s id.' }) id: string): Promise<User | null> {
    return findUser(em, nodeKey(id, 'User', 'id'));
  }

  @Mutation(() => User, { description: 'Creates a user; only a superuser may create a superuser or a staff user.' })
  @HasPermission(permissionFor(USER, 'add'))
  async createUser(
    @Ctx() ctx: GatehouseContext,
    @Arg('input', () => CreateUserInput, { description: 'The new user.' }) input: CreateUserInput,
  ): Promise<User> {
    return afterWrite(ctx, await createUser(ctx.em, ctx.user!, input));
  }

  @Mutation(() => User, { description: 'Changes the given fields; deactivating a user ends their sessions.' })
  @HasPermission(permissionFor(USER, 'change'))
  async updateUser(
    @Ctx() ctx: GatehouseContext,
    @Arg('id', () => ID, { description: 'The user’s id.' }) id: string,
    @Arg('input', () => UpdateUserInput, { description: 'The fields to change.' }) input: UpdateUserInput,
  ): Promise<User> {
    const user = await updateUser(ctx.em, ctx.user!, nodeKey(id, 'User', 'id'), input);
    return afterWrite(ctx, user, user.id);
  }

  @Mutation(() => DeletePayload, { description: 'Deletes a user (never yourself, never the last active superuser).' })
  @HasPermission(permissionFor(USER, 'delete'))
  async deleteUser(
    @Ctx() ctx: GatehouseContext,
    @Arg('id', () => ID, { description: 'The user’s id.' }) id: string,
  ): Promise<DeletePayload> {
    const removed = await deleteUser(ctx.em, ctx.user!, nodeKey(id, 'User', 'id'));
    return afterWrite(ctx, deleted('User', removed), removed);
  }

  @Mutation(() => User, {
    description:
      'Sets the password (12 to 1,024 characters, not a common one) and ends the user’s sessions (but the caller’s current one). Your own needs `currentPassword`.',
  })
  @HasPermission(permissionFor(USER, 'change'))
  async setUserPassword(
    @Ctx() ctx: GatehouseContext,
    @Arg('id', () => ID, { description: 'The user’s id.' }) id: string,
    @Arg('password', () => String, { description: 'The new password: 12 to 1,024 characters, not a common one.' }) password: string,
    @Arg('currentPassword', () => String, { nullable: true, description: 'Your current password: required to change your own.' })
    currentPassword?: string | null,
  ): Promise<User> {
    const user = await setUserPassword(ctx.em, ctx.user!, nodeKey(id, 'User', 'id'), password, ctx.session?.id, {
      currentPassword,
      throttle: ctx.services.loginThrottle,
    });
    return afterWrite(ctx, user, user.id);
  }

  @Mutation(() => Int, {
    description:
      'Signs the user out everywhere: ends all their sessions and returns how many ended (recorded in the admin log). Only a superuser may do it to a superuser.',
  })
  @HasPermission(permissionFor(USER, 'change'))
  async revokeUserSessions(
    @Ctx() ctx: GatehouseContext,
    @Arg('id', () => ID, { description: 'The user’s id.' }) id: string,
  ): Promise<number> {
    const userId = nodeKey(id, 'User', 'id');
    const ended = await revokeUserSessions(ctx.em, ctx.user!, userId);
    if (userId === ctx.user!.id) ctx.request.clearSessionToken();
    return ended;
  }

  @Mutation(() => User, {
    description: `Sets the groups an admin put the user in; memberships from single sign-on rules are kept. ${GRANT_RULE_SUMMARY}`,
  })
  @HasPermission(permissionFor(USER, 'change'))
  async setUserGroups(
    @Ctx() ctx: GatehouseContext,
    @Arg('id', () => ID, { description: 'The user’s id.' }) id: string,
    @Arg('groupIds', () => [ID], {
      description: 'Every group an admin puts the user in, replacing the ones an admin put them in before; [] for none.',
    })
    groupIds: string[],
  ): Promise<User> {
    const keys = groupIds.map((gid) => nodeKeyOrNull(gid, 'Group'));
    const bad = groupIds.filter((_, i) => keys[i] === null);
    if (bad.length) throw unknownValues('groupIds', 'group with id', bad);
    const user = await setUserGroups(ctx.em, ctx.user!, nodeKey(id, 'User', 'id'), keys as number[]);
    return afterWrite(ctx, user, user.id);
  }

  @Mutation(() => User, { description: `Sets the user’s direct permissions, by full name (core.view_tweet). ${GRANT_RULE_SUMMARY}` })
  @HasPermission(permissionFor(USER, 'change'))
  async setUserPermissions(
    @Ctx() ctx: GatehouseContext,
    @Arg('id', () => ID, { description: 'The user’s id.' }) id: string,
    @Arg('permissions', () => [String], { description: 'Every direct permission, as app_label.codename; [] for none.' })
    permissions: string[],
  ): Promise<User> {
    const user = await setUserPermissions(ctx.em, ctx.user!, nodeKey(id, 'User', 'id'), permissions);
    return afterWrite(ctx, user, user.id);
  }

  @FieldResolver(() => [Group], { nullable: true, description: 'The groups the user is in, each once, by name (unique).' })
  @HasPermission(permissionFor(GROUP, 'view'))
  groups(@Root() user: User, @Ctx() { loaders }: GatehouseContext): Group[] | Promise<Group[]> {
    const known = loaders.users.groupsOf(user.id);
    return known instanceof Promise ? known.then((loaded) => loaded.groups) : known.groups;
  }

  @FieldResolver(() => [Membership], {
    nullable: true,
    description:
      'Why the user is in each group: one entry per admin assignment or mapping rule; by group name, then the admin’s first, then by rule id.',
  })
  @HasPermission(permissionFor(GROUP, 'view'))
  memberships(@Root() user: User, @Ctx() { loaders }: GatehouseContext): UserMembership[] | Promise<UserMembership[]> {
    const known = loaders.users.groupsOf(user.id);
    return known instanceof Promise ? known.then((loaded) => loaded.memberships) : known.memberships;
  }

  @FieldResolver(() => [Permission], {
    nullable: true,
    description: 'Permissions granted to the user directly (not through groups), by id.',
  })
  @HasPermission(permissionFor(PERMISSION, 'view'))
  userPermissions(@Root() user: User, @Ctx() { loaders }: GatehouseContext): Promise<readonly Permission[]> {
    return loaders.users.permissionsOfUser.load(user.id);
  }
}
