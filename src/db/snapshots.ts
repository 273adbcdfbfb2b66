/**
 * A factory of read-only snapshots of `entity`: objects that are `instanceof entity` (so
 * type-graphql hands them to field resolvers as they are, without copying) but whose fields are
 * plain data properties. Setting a field of a real entity goes through MikroORM's change
 * tracking (a setter on the prototype that builds the entity's internal state), work a read
 * never needs. No EntityManager knows a snapshot: never persist, flush or assign one.
 *
 * @example
 *   const groupSnapshot = snapshotFactory(Group, ['id', 'name']);
 *   groupSnapshot({ id: 1, name: 'viewer' }) instanceof Group; // true
 */
export function snapshotFactory<E extends object, K extends keyof E & string>(
  entity: abstract new (...args: never[]) => E,
  fields: readonly K[],
): (values: Pick<E, K>) => E {
  const prototype = Object.create(entity.prototype as object) as object;
  for (const field of fields)
    Object.defineProperty(prototype, field, { value: undefined, writable: true, enumerable: false, configurable: true });
  return (values) => Object.assign(Object.create(prototype) as E, values);
}
