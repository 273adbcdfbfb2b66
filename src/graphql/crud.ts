import {
  CheckConstraintViolationException,
  ConstraintViolationException,
  NotNullConstraintViolationException,
  UniqueConstraintViolationException,
  type EntityClass,
  type EntityMetadata,
  type EntityProperty,
  type FilterQuery,
  type RequiredEntityData,
} from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Arg, Ctx, ID, Int, Mutation, Query, Resolver, type ClassType } from 'type-graphql';
import { logChange, changedFields } from '../audit/audit.service';
import { ActionFlag } from '../audit/log-entry.entity';
import { badInput, conflict, GatehouseError, notFound } from '../errors';
import { permissionFor, type ModelRef } from '../permissions/registry';
import type { User } from '../users/user.entity';
import { HasPermission } from './access';
import { Connection, decodeCursor, pageSize, toPage, type Page } from './connection';
import type { GatehouseContext } from './context';

/*
 * CRUD derived from a registered model, the way Django admin derives its views from a
 * ModelAdmin: a `ModelAdmin` says how to validate input and how to name a row; `CrudService`
 * does the audited, transactional work (no GraphQL in it); `CrudResolver` turns both into the
 * five root operations, whose access declarations come from the registry, never typed here.
 */

/** A keyset ordering: the properties a page is sorted by, the last one unique (usually the primary key). */
export type Ordering<E> = ReadonlyArray<readonly [property: keyof E & string, direction: 'asc' | 'desc']>;

/** The error a violated database constraint means, given the values that were being written. */
export type ConstraintErrors<E> = Readonly<Record<string, (attempt: Partial<E>) => GatehouseError>>;

/** How one registered model is administered: Django's `ModelAdmin`, reduced to what the API needs. */
export interface ModelAdmin<E extends object, CreateInput, UpdateInput> {
  readonly ref: ModelRef;
  readonly entity: EntityClass<E>;
  /** Page order; the last property must be unique. Default: the primary key, ascending. */
  readonly ordering?: Ordering<E>;
  /** Validates a creation input into the new row's values; throws BAD_USER_INPUT naming the field (`input.x`). */
  toCreate(input: CreateInput): RequiredEntityData<E>;
  /** Validates an update input into the values to set (absent fields untouched); throws BAD_USER_INPUT naming the field. */
  toChanges(input: UpdateInput): Partial<E>;
  /** The row's name in the admin log (`object_repr`). */
  repr(object: E): string;
  /** Constraint name → what its violation means (CONFLICT for a unique value, BAD_USER_INPUT for a check). */
  readonly constraints?: ConstraintErrors<E>;
}

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/**
 * The one place database constraint violations become API errors: a violation of a constraint
 * the model names becomes that error (e.g. CONFLICT naming `input.languageTag`); any other
 * constraint violation becomes a generic CONFLICT or BAD_USER_INPUT without the database's
 * text. Anything that is not a constraint violation is returned unchanged, to be masked as an
 * internal error by `formatError`.
 */
export function translateDatabaseError<E>(error: unknown, constraints: ConstraintErrors<E> = {}, attempt: Partial<E> = {}): unknown {
  if (!(error instanceof ConstraintViolationException)) return error;
  const name = (error as ConstraintViolationException & { constraint?: string }).constraint;
  const known = name ? constraints[name] : undefined;
  if (known) return known(attempt);
  if (error instanceof UniqueConstraintViolationException) return conflict('input', 'a value of the input is already in use');
  if (error instanceof NotNullConstraintViolationException) {
    const column = (error as NotNullConstraintViolationException & { column?: string }).column;
    return badInput(column ? `input.${camelCase(column)}` : 'input', 'is required');
  }
  if (error instanceof CheckConstraintViolationException) return badInput('input', 'a value of the input is not allowed');
  return conflict('input', 'the change conflicts with other data');
}

const camelCase = (column: string) => column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Reads one page of `entity` rows matching `where`, in `ordering`, after the cursor `after`
 * (keyset pagination: stable under inserts, no OFFSET). `totalCount` runs only when called.
 * A malformed cursor or page size is BAD_USER_INPUT naming `after` / `first`.
 */
export async function findPage<E extends object>(
  em: EntityManager,
  entity: EntityClass<E>,
  where: FilterQuery<E>,
  ordering: Ordering<E>,
  args: PageArgs,
  options: { populate?: readonly string[] } = {},
): Promise<Page<E>> {
  const limit = pageSize(args.first);
  const meta = em.getMetadata().get<E>(entity.name);
  const conditions: FilterQuery<E>[] = [where];
  if (args.after) {
    const key = decodeCursor(args.after, ordering.length).map((value, i) =>
      keyValue((meta.properties as Record<string, EntityProperty | undefined>)[ordering[i][0]], value),
    );
    conditions.push(after(ordering, key));
  }
  const rows = await em.find(entity, { $and: conditions } as FilterQuery<E>, {
    orderBy: ordering.map(([property, direction]) => ({ [property]: direction })) as never,
    limit: limit + 1,
    populate: (options.populate ?? []) as never,
  });
  return toPage(
    rows,
    limit,
    (row) => ordering.map(([property]) => cursorValue(row[property])),
    () => em.count(entity, where),
  );
}

/** Rows strictly after `key` in `ordering`: (a > x) or (a = x and b > y) or … */
function after<E>(ordering: Ordering<E>, key: unknown[]): FilterQuery<E> {
  const branches = ordering.map(([property, direction], i) => {
    const branch: Record<string, unknown> = {};
    for (let j = 0; j < i; j++) branch[ordering[j][0]] = key[j];
    branch[property] = { [direction === 'asc' ? '$gt' : '$lt']: key[i] };
    return branch;
  });
  return { $or: branches } as FilterQuery<E>;
}

function cursorValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  return value;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const badCursor = () => badInput('after', 'is not a cursor from this connection');

/** A cursor component, checked against its column so that a forged cursor cannot reach SQL as garbage. */
function keyValue(prop: EntityProperty | undefined, value: unknown): unknown {
  if (!prop) throw badCursor();
  if (prop.runtimeType === 'Date') {
    const date = typeof value === 'string' ? new Date(value) : null;
    if (!date || Number.isNaN(date.getTime())) throw badCursor();
    return date;
  }
  if (prop.runtimeType === 'number') {
    if (!Number.isSafeInteger(value)) throw badCursor();
    return value;
  }
  if (typeof value !== 'string') throw badCursor();
  if (isUuid(prop) && !UUID.test(value)) throw badCursor();
  return value;
}

const isUuid = (prop: EntityProperty) => prop.columnTypes?.[0] === 'uuid' || String(prop.type).toLowerCase() === 'uuid';

/** The primary key value `raw` (an ID from the API), or null when it cannot be one. */
function parseId<E>(meta: EntityMetadata<E>, raw: string): string | number | null {
  const prop = meta.properties[meta.primaryKeys[0]];
  if (prop.runtimeType === 'number') return /^[1-9][0-9]{0,14}$/.test(raw) ? Number(raw) : null;
  if (isUuid(prop)) return UUID.test(raw) ? raw.toLowerCase() : null;
  return raw;
}

/**
 * The audited operations on one model. Every write runs in one transaction with its LogEntry
 * (who, what, which fields), so both are committed or neither is; an update that changes
 * nothing writes nothing. Constraint violations are translated by `translateDatabaseError`.
 * It knows nothing about GraphQL; the caller has already checked the permission.
 */
export class CrudService<E extends object, CreateInput, UpdateInput> {
  constructor(readonly admin: ModelAdmin<E, CreateInput, UpdateInput>) {}

  private meta(em: EntityManager): EntityMetadata<E> {
    return em.getMetadata().get<E>(this.admin.entity.name);
  }

  private get ordering(): Ordering<E> {
    return this.admin.ordering ?? [];
  }

  private label(): string {
    return this.admin.ref.verboseName;
  }

  list(em: EntityManager, args: PageArgs): Promise<Page<E>> {
    const ordering = this.ordering.length ? this.ordering : ([[this.meta(em).primaryKeys[0], 'asc']] as unknown as Ordering<E>);
    return findPage(em, this.admin.entity, {} as FilterQuery<E>, ordering, args);
  }

  /** The row with this id, or null (also for an id that cannot exist). */
  async get(em: EntityManager, id: string): Promise<E | null> {
    const pk = parseId(this.meta(em), id);
    if (pk === null) return null;
    return em.findOne(this.admin.entity, pk as FilterQuery<E>);
  }

  async create(em: EntityManager, actor: User, input: CreateInput): Promise<E> {
    const data = this.admin.toCreate(input);
    return this.write(data as unknown as Partial<E>, () =>
      em.transactional(async (tx) => {
        const object = tx.create(this.admin.entity, data);
        await tx.flush(); // the primary key of a serial id is known only now
        this.log(tx, actor, object, ActionFlag.ADDITION);
        await tx.flush();
        return object;
      }),
    );
  }

  async update(em: EntityManager, actor: User, id: string, input: UpdateInput): Promise<E> {
    const changes = this.admin.toChanges(input);
    const pk = parseId(this.meta(em), id);
    if (pk === null) throw notFound(this.label(), id);
    return this.write(changes, () =>
      em.transactional(async (tx) => {
        const object = await tx.findOne(this.admin.entity, pk as FilterQuery<E>);
        if (!object) throw notFound(this.label(), id);
        const message = changedFields(object, changes);
        if (!message) return object; // Django logs nothing when nothing changed
        tx.assign(object, changes as never);
        this.log(tx, actor, object, ActionFlag.CHANGE, message);
        await tx.flush();
        return object;
      }),
    );
  }

  /** Deletes the row and returns its id. */
  async delete(em: EntityManager, actor: User, id: string): Promise<string> {
    const pk = parseId(this.meta(em), id);
    if (pk === null) throw notFound(this.label(), id);
    return this.write({}, () =>
      em.transactional(async (tx) => {
        const object = await tx.findOne(this.admin.entity, pk as FilterQuery<E>);
        if (!object) throw notFound(this.label(), id);
        this.log(tx, actor, object, ActionFlag.DELETION);
        tx.remove(object);
        await tx.flush();
        return String(pk);
      }),
    );
  }

  private log(tx: EntityManager, actor: User, object: E, action: ActionFlag, message?: ReturnType<typeof changedFields>): void {
    const meta = this.meta(tx);
    const objectId = (object as Record<string, unknown>)[meta.primaryKeys[0]] as string | number;
    logChange(tx, { actor, model: this.admin.ref, objectId, objectRepr: this.admin.repr(object), action, message: message ?? undefined });
  }

  private async write<T>(attempt: Partial<E>, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw translateDatabaseError(error, this.admin.constraints, attempt);
    }
  }
}

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
 *   deleteTweet(id): ID!                          @hasPermission("core.delete_tweet")
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
  const service = new CrudService(admin);
  const ObjectConnection = Connection(objectType);
  const what = admin.ref.verboseName;

  @Resolver()
  abstract class GeneratedCrudResolver {
    protected readonly crud = service;

    @Query(() => ObjectConnection, { name: names.plural, description: `Every ${what}, oldest first.` })
    @HasPermission(permissionFor(admin.ref, 'view'))
    list(
      @Ctx() ctx: GatehouseContext,
      @Arg('first', () => Int, { nullable: true }) first?: number | null,
      @Arg('after', () => String, { nullable: true }) after?: string | null,
    ): Promise<Page<E>> {
      return service.list(ctx.em, { first, after });
    }

    @Query(() => objectType, { name: names.singular, nullable: true, description: `The ${what} with this id; null when there is none.` })
    @HasPermission(permissionFor(admin.ref, 'view'))
    one(@Ctx() ctx: GatehouseContext, @Arg('id', () => ID) id: string): Promise<E | null> {
      return service.get(ctx.em, id);
    }

    @Mutation(() => objectType, { name: names.create, description: `Creates a ${what}; logged in the admin log.` })
    @HasPermission(permissionFor(admin.ref, 'add'))
    create(@Ctx() ctx: GatehouseContext, @Arg('input', () => createInput) input: CreateInput): Promise<E> {
      return service.create(ctx.em, ctx.user!, input);
    }

    @Mutation(() => objectType, {
      name: names.update,
      description: `Changes a ${what}; logged with the changed fields. Omitted fields are kept.`,
    })
    @HasPermission(permissionFor(admin.ref, 'change'))
    update(@Ctx() ctx: GatehouseContext, @Arg('id', () => ID) id: string, @Arg('input', () => updateInput) input: UpdateInput): Promise<E> {
      return service.update(ctx.em, ctx.user!, id, input);
    }

    @Mutation(() => ID, { name: names.delete, description: `Deletes a ${what} and returns its id; logged in the admin log.` })
    @HasPermission(permissionFor(admin.ref, 'delete'))
    remove(@Ctx() ctx: GatehouseContext, @Arg('id', () => ID) id: string): Promise<string> {
      return service.delete(ctx.em, ctx.user!, id);
    }
  }
  return GeneratedCrudResolver;
}
