import type { EntityClass, EntityMetadata, FilterQuery, RequiredEntityData } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { changedFields, logChange } from '../audit/audit.service';
import { ActionFlag } from '../audit/log-entry.entity';
import { writing, type ConstraintErrors } from '../db/database-errors';
import { integerId, uuidId } from '../db/ids';
import { findPage, keyTypeOf, type Ordering, type Page, type PageArgs } from '../db/keyset';
import { notFound } from '../errors';
import type { ModelRef } from '../permissions/registry';
import type { User } from '../users/user.entity';

/*
 * The administration of a registered model, the way Django admin derives its views from a
 * ModelAdmin: a `ModelAdmin` says how to validate input and how to name a row; `CrudService`
 * does the audited, transactional work. No GraphQL here: `src/graphql/crud-resolver.ts` turns
 * both into the five root operations.
 */

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

/** The primary key value `raw` (an ID from the API), or null when it cannot be one. */
function primaryKey<E>(meta: EntityMetadata<E>, raw: string): string | number | null {
  const type = keyTypeOf(meta.properties[meta.primaryKeys[0]]);
  return type === 'integer' ? integerId(raw) : type === 'uuid' ? uuidId(raw) : raw;
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
    const pk = primaryKey(this.meta(em), id);
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
    const pk = primaryKey(this.meta(em), id);
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
    const pk = primaryKey(this.meta(em), id);
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

  private write<T>(attempt: Partial<E>, run: () => Promise<T>): Promise<T> {
    return writing(run, this.admin.constraints, attempt);
  }
}
