import { fromGlobalId, isNodeType, toGlobalId } from '../../src/db/ids';

/** The global id the API hands out for a row loaded or made in a test (its entity class names its type). */
export function globalIdOf(entity: { id: number | string }): string {
  const type = entity.constructor.name;
  if (!isNodeType(type)) throw new Error(`${type} is not a Node type`);
  return toGlobalId(type, entity.id);
}

/** The database key (as a string, the way LogEntry.objectId keeps it) that a global id names. */
export function keyOf(globalId: string): string {
  const decoded = fromGlobalId(globalId);
  if (!decoded) throw new Error(`${globalId} is not a global id`);
  return String(decoded.key);
}
