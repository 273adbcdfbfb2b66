import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import { HasPermission } from '../graphql/access';
import { Connection, decodeCursor, pageSize, toPage, type Page } from '../graphql/connection';
import type { GatehouseContext } from '../graphql/context';
import { Permission } from './permission.entity';

const PermissionConnection = Connection(Permission);

@Resolver(() => Permission)
export class PermissionResolver {
  @Query(() => PermissionConnection, { description: 'The permission catalogue, in registry order.' })
  @HasPermission('auth.view_permission')
  async permissions(
    @Ctx() { em }: GatehouseContext,
    @Arg('appLabel', () => String, { nullable: true }) appLabel?: string | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<Page<Permission>> {
    const limit = pageSize(first);
    const where = appLabel ? { appLabel } : {};
    const afterId = after ? Number(decodeCursor(after, 1)[0]) : 0;
    const rows = await em.find(Permission, { ...where, id: { $gt: afterId } }, { orderBy: { id: 'asc' }, limit: limit + 1 });
    return toPage(
      rows,
      limit,
      (p) => [p.id],
      () => em.count(Permission, where),
    );
  }
}
