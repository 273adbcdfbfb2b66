import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import { HasPermission } from '../graphql/access';
import { findPage, type Page } from '../db/keyset';
import { Connection } from '../graphql/connection';
import type { GatehouseContext } from '../graphql/context';
import { Permission } from './permission.entity';

const PermissionConnection = Connection(Permission);

@Resolver(() => Permission)
export class PermissionResolver {
  @Query(() => PermissionConnection, { description: 'The permission catalogue, in registry order.' })
  @HasPermission('auth.view_permission')
  permissions(
    @Ctx() { em }: GatehouseContext,
    @Arg('appLabel', () => String, { nullable: true }) appLabel?: string | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<Page<Permission>> {
    return findPage(em, Permission, appLabel ? { appLabel } : {}, [['id', 'asc']], { first, after });
  }
}
