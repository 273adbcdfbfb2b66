import { Arg, Ctx, ID, Int, Mutation, Query, Resolver, type ClassType } from 'type-graphql';
import { CrudService, type ModelAdmin } from '../admin/model-admin';
import type { Page } from '../db/keyset';
import { isNodeType, nodeKey, type NodeType } from '../db/ids';
import { permissionFor } from '../permissions/registry';
import { HasPermission } from './access';
import { Connection } from './connection';
import type { GatehouseContext } from './context';
import { AFTER_DESCRIPTION, DeletePayload, deleted, FIRST_DESCRIPTION } from './conventions';

/*
 * The GraphQL edge of a registered model's administration: five root operations derived from
 * its `ModelAdmin`, whose access declarations come from the model registry, never typed here.
 */

/** `tweet` from the object type `Tweet`: the names every generated operation derives from. */
function operationNames(typeName: string, plural?: string) {
  const singular = typeName[0].toLowerCase() + typeName.slice(1);
  return {
    singular,
    plural: plural ?? `${singular}s`,
    create: `create${typeName}`,
    update: `update${typeName}`,
    delete: `delete${typeName}`,
  };
}

export interface CrudTypes<E extends object, CreateInput extends object, UpdateInput extends object> {
  /** The GraphQL object type of a row (usually the entity itself); its name gives the operation names. */
  readonly objectType: ClassType<E>;
  readonly createInput: ClassType<CreateInput>;
  readonly updateInput: ClassType<UpdateInput>;
  /** The list operation's name when `<singular>s` is wrong (e.g. `logEntries`). */
  readonly plural?: string;
}

/**
 * The base class of a model's resolver: five root operations derived from the model —
 * for `core.Tweet`:
 *
 *   tweets(first, after): TweetConnection!       @hasPermission("core.view_tweet")
 *   tweet(id): Tweet                              @hasPermission("core.view_tweet")
 *   createTweet(input): Tweet!                    @hasPermission("core.add_tweet")
 *   updateTweet(id, input): Tweet!                @hasPermission("core.change_tweet")
 *   deleteTweet(id): DeletePayload!               @hasPermission("core.delete_tweet")
 *
 * The permission check runs before anything is looked up, so `tweet(id)` is FORBIDDEN for a
 * caller without the permission whether or not the row exists; with it, an absent row is null
 * (and NOT_FOUND for update and delete).
 *
 * @example
 *   @Resolver(() => Tweet)
 *   export class TweetResolver extends CrudResolver(tweetAdmin, { objectType: Tweet, createInput: CreateTweetInput, updateInput: UpdateTweetInput }) {}
 */
export function CrudResolver<E extends object, CreateInput extends object, UpdateInput extends object>(
  admin: ModelAdmin<E, CreateInput, UpdateInput>,
  types: CrudTypes<E, CreateInput, UpdateInput>,
) {
  const { objectType, createInput, updateInput } = types;
  const names = operationNames(objectType.name, types.plural);
  if (names.singular.toLowerCase() !== admin.ref.model) {
    throw new Error(
      `CrudResolver: the object type ${objectType.name} does not name the registered model ${admin.ref.appLabel}.${admin.ref.model}`,
    );
  }
  if (!isNodeType(objectType.name))
    throw new Error(`CrudResolver: the object type ${objectType.name} is not in NODE_TYPES (src/db/ids.ts)`);
  const nodeType: NodeType = objectType.name;
  /** The row's primary key, as the service reads it, from the global id (or raw key) `id`. */
  const key = (id: string) => String(nodeKey(id, nodeType, 'id'));
  const service = new CrudService(admin);
  const ObjectConnection = Connection(objectType);
  const what = admin.ref.verboseName;

  @Resolver()
  abstract class GeneratedCrudResolver {
    protected readonly crud = service;

    @Query(() => ObjectConnection, { name: names.plural, description: `Every ${what}, oldest first (by creation time; ties by id).` })
    @HasPermission(permissionFor(admin.ref, 'view'))
    list(
      @Ctx() ctx: GatehouseContext,
      @Arg('first', () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number | null,
      @Arg('after', () => String, { nullable: true, description: AFTER_DESCRIPTION }) after?: string | null,
    ): Promise<Page<E>> {
      return service.list(ctx.em, { first, after });
    }

    @Query(() => objectType, { name: names.singular, nullable: true, description: `The ${what} with this id; null when there is none.` })
    @HasPermission(permissionFor(admin.ref, 'view'))
    one(@Ctx() ctx: GatehouseContext, @Arg('id', () => ID, { description: `The id of the ${what}.` }) id: string): Promise<E | null> {
      return service.get(ctx.em, key(id));
    }

    @Mutation(() => objectType, { name: names.create, description: `Creates a ${what}; logged in the admin log.` })
    @HasPermission(permissionFor(admin.ref, 'add'))
    create(
      @Ctx() ctx: GatehouseContext,
      @Arg('input', () => createInput, { description: `The new ${what}.` }) input: CreateInput,
    ): Promise<E> {
      return service.create(ctx.em, ctx.user!, input);
    }

    @Mutation(() => objectType, {
      name: names.update,
      description: `Changes a ${what}; logged with the changed fields. Omitted fields are kept.`,
    })
    @HasPermission(permissionFor(admin.ref, 'change'))
    update(
      @Ctx() ctx: GatehouseContext,
      @Arg('id', () => ID, { description: `The id of the ${what}.` }) id: string,
      @Arg('input', () => updateInput, { description: 'The fields to change.' }) input: UpdateInput,
    ): Promise<E> {
      return service.update(ctx.em, ctx.user!, key(id), input);
    }

    @Mutation(() => DeletePayload, { name: names.delete, description: `Deletes a ${what}; logged in the admin log.` })
    @HasPermission(permissionFor(admin.ref, 'delete'))
    async remove(
      @Ctx() ctx: GatehouseContext,
      @Arg('id', () => ID, { description: `The ${what}’s id.` }) id: string,
    ): Promise<DeletePayload> {
      return deleted(nodeType, await service.delete(ctx.em, ctx.user!, key(id)));
    }
  }
  return GeneratedCrudResolver;
}
