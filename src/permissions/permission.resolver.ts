import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import { HasPermission } from '../graphql/access';
import { AFTER_DESCRIPTION, FIRST_DESCRIPTION } from '../graphql/conventions';
import { findPage, type Page } from '../db/keyset';
import { Connection } from '../graphql/connection';
import type { GatehouseContext } from '../graphql/context';
import { Permission } from './permission.entity';

const PermissionConnection = Connection(Permission);

@Resolver(() => Permission)
export class PermissionResolver {
  @Query(() => PermissionConnection, { description: 'The permission catalogue, by id (the registry’s order on a fresh database).' })
  @HasPermission('auth.view_permission')
  permissions(
    @Ctx() { em }: GatehouseContext,
    @Arg('appLabel', () => String, { nullable: true, description: 'Only the permissions of this app, e.g. core; omitted: all.' })
    appLabel?: string | null,
    @Arg('first', () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number | null,
    @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) after?: string | null,
  ): Promise<Page<Permission>> {
    return findPage(em, Permission, appLabel ? { appLabel } : {}, [['id', 'asc']], { first, after });
  }
}
