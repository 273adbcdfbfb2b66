import { Arg, Ctx, Field, ID, InterfaceType, Query, Resolver } from 'type-graphql';
import { Authenticated } from './access';
import type { GatehouseContext } from './context';
import { findNode, findNodes, MAX_NODES, nodeTypeOf } from './node';

/** Relay's `Node`: the types that implement it are listed in `db/ids.ts` (NODE_TYPES) and added by `withGlobalIds`. */
@InterfaceType('Node', {
  description:
    'An object with a database identity. Its `id` is a global id, unique across all types and opaque: refetch it with `node(id:)`. Every argument and input field that names an object takes its global id; until Gatehouse 1.0 they also take the database key the API handed out before (a number, or a UUID), but `node` and `nodes` take global ids only. An id that cannot name an object of the expected type is BAD_USER_INPUT naming the argument.',
  resolveType: (value: object) => nodeTypeOf(value),
  autoRegisterImplementations: false,
})
export abstract class Node {
  @Field(() => ID, { description: 'The global id of the object.' })
  id!: string;
}

const GUARD =
  'Each object needs the view permission of its model (e.g. auth.view_user for a User; FORBIDDEN, at its path, without it); a Session only its owner sees.';

@Resolver()
export class NodeResolver {
  @Query(() => Node, {
    nullable: true,
    description: `The object with this global id; null when there is none. ${GUARD} A malformed id is BAD_USER_INPUT.`,
  })
  @Authenticated()
  node(
    @Ctx() ctx: GatehouseContext,
    @Arg('id', () => ID, { description: 'A global id, as an object’s `id` gives it.' }) id: string,
  ): Promise<object | null> {
    return findNode(ctx, id);
  }

  @Query(() => [Node], {
    nullable: 'items',
    description: `The objects with these global ids, in order, loaded in one statement per type; null for one that does not exist. ${GUARD} At most ${MAX_NODES} ids.`,
  })
  @Authenticated()
  nodes(
    @Ctx() ctx: GatehouseContext,
    @Arg('ids', () => [ID], { description: `Global ids, at most ${MAX_NODES}.` }) ids: string[],
  ): Array<Promise<object | null>> {
    return findNodes(ctx, ids);
  }
}
