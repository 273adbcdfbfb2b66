import { DateTimeType, MetadataStorage, type EntityMetadata, type EntityProperty } from '@mikro-orm/core';
import { PostgreSqlPlatform } from '@mikro-orm/postgresql';

/**
 * What a raw row may hold for each field: the entity's own type, or — for a date-time — the
 * string the driver hands back (MikroORM's PostgreSQL connection returns `timestamptz` columns as
 * text, e.g. `2026-11-29 15:30:15.807+00`, and converts them itself only when it hydrates).
 */
export type SnapshotValues<E, K extends keyof E> = {
  [P in K]: E[P] extends Date ? E[P] | string : Date extends E[P] ? E[P] | string : E[P];
};

// MikroORM's hydration parses dates with its platform's `parseDate`; snapshots use the same one.
const platform = new PostgreSqlPlatform();

/** A date-time as a raw row holds it — the driver's text, a Date, or null — as a Date or null, parsed as MikroORM's hydration does. */
export function dateFromRow(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value : (platform.parseDate(value as string) as Date);
}

const DATE_TIME_TYPES = new Set(['datetime', 'date-time', 'timestamp', 'timestamptz', 'Date', 'DateTimeType']);

function isDateTime(property: EntityProperty | undefined): boolean {
  if (!property) return false;
  const type: unknown = property.type;
  if (typeof type === 'string') return DATE_TIME_TYPES.has(type);
  return type === DateTimeType || type instanceof DateTimeType;
}

/** The entity's properties as its decorators declared them (MikroORM's metadata, before discovery). */
function declaredProperties(entity: abstract new (...args: never[]) => object): Record<string, EntityProperty> {
  const all = Object.values(MetadataStorage.getMetadata() as Record<string, EntityMetadata>).filter(
    (meta) => meta.className === entity.name,
  );
  if (!all.length) throw new Error(`snapshotFactory: ${entity.name} is not a MikroORM entity`);
  return Object.assign({}, ...all.map((meta) => meta.properties)) as Record<string, EntityProperty>;
}

/**
 * A factory of read-only snapshots of `entity`: objects that are `instanceof entity` (so
 * type-graphql hands them to field resolvers as they are, without copying) but whose fields are
 * plain data properties. Setting a field of a real entity goes through MikroORM's change
 * tracking (a setter on the prototype that builds the entity's internal state), work a read
 * never needs. No EntityManager knows a snapshot: never persist, flush or assign one.
 *
 * This is where raw rows become objects, so values are converted here as MikroORM's hydration
 * would: a date-time property (read from the entity's metadata, so a new one is never
 * forgotten) given as the driver's text becomes a `Date`.
 *
 * @example
 *   const groupSnapshot = snapshotFactory(Group, ['id', 'name']);
 *   groupSnapshot({ id: 1, name: 'viewer' }) instanceof Group; // true
 *   userSnapshot({ …, dateJoined: '2026-11-29 15:30:15.807+00' }).dateJoined instanceof Date; // true
 */
export function snapshotFactory<E extends object, K extends keyof E & string>(
  entity: abstract new (...args: never[]) => E,
  fields: readonly K[],
): (values: SnapshotValues<E, K>) => E {
  const prototype = Object.create(entity.prototype as object) as object;
  for (const field of fields)
    Object.defineProperty(prototype, field, { value: undefined, writable: true, enumerable: false, configurable: true });
  const properties = declaredProperties(entity);
  const dateTimes = fields.filter((field) => isDateTime(properties[field]));
  return (values) => {
    const snapshot: Record<string, unknown> = Object.assign(Object.create(prototype) as object, values);
    for (const field of dateTimes) {
      const value = snapshot[field];
      if (typeof value === 'string') snapshot[field] = dateFromRow(value);
    }
    return snapshot as E;
  };
}
