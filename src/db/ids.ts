import { badInput } from '../errors';

/*
 * The one reading and writing of a GraphQL `ID`. Objects with a database identity are named by
 * Relay global ids: base64url (no padding) of `<TypeName>:<primary key>`, e.g. `User:42` →
 * `VXNlcjo0Mg`, unique across types and opaque to clients. Encoding and decoding happen here and
 * nowhere else.
 *
 * During a transition, an argument that names an object of a known type also takes the raw
 * primary key (`42`, a session's UUID), as the API handed it out before global ids. The two
 * never collide: a global id starts with the base64 of a capital letter (Q–W), never a digit or
 * a hexadecimal letter.
 *
 * A key is read only in the form Gatehouse hands it out — a canonical decimal within the integer
 * column's range, or a UUID — so anything else names nothing and never reaches SQL (where
 * `99999999999` would overflow an integer column and an ill-formed UUID would fail to parse).
 */

/** Every GraphQL type that implements `Node`, with the kind of its primary key. */
export const NODE_TYPES = {
  User: 'integer',
  Group: 'integer',
  Permission: 'integer',
  GroupMappingRule: 'integer',
  LogEntry: 'integer',
  Tweet: 'uuid',
  Language: 'uuid',
  SsoIdentity: 'integer',
  ProvisioningToken: 'integer',
  Session: 'uuid',
} as const;

export type NodeType = keyof typeof NODE_TYPES;
/** The primary key of a node type: a number, or a UUID string. */
export type NodeKey<T extends NodeType = NodeType> = (typeof NODE_TYPES)[T] extends 'uuid' ? string : number;

export function isNodeType(name: string): name is NodeType {
  return Object.hasOwn(NODE_TYPES, name);
}

const INTEGER_ID = /^[1-9][0-9]{0,9}$/;
const INT4_MAX = 2_147_483_647;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** The longest global id: the longest type name, a colon and a UUID, in base64. */
const MAX_GLOBAL_ID = 80;

/** The integer key `value` names (a positive int4 written canonically: `7`, never `07` or `+7`), or null. */
export function integerId(value: string): number | null {
  if (!INTEGER_ID.test(value)) return null;
  const id = Number(value);
  return id <= INT4_MAX ? id : null;
}

/** The UUID key `value` names, lower-cased, or null. */
export function uuidId(value: string): string | null {
  return UUID.test(value) ? value.toLowerCase() : null;
}

function keyOf<T extends NodeType>(type: T, raw: string): NodeKey<T> | null {
  return (NODE_TYPES[type] === 'uuid' ? uuidId(raw) : integerId(raw)) as NodeKey<T> | null;
}

/**
 * The global id of the object of `type` whose primary key is `key`.
 *
 * @example toGlobalId('User', 42) // 'VXNlcjo0Mg'
 */
export function toGlobalId(type: NodeType, key: number | string): string {
  // Type names and keys are ASCII, where latin1 is utf8 — and encodes several times faster.
  return Buffer.from(`${type}:${key}`, 'latin1').toString('base64url');
}

/**
 * The type and key a global id names, or null when `value` is not one Gatehouse could have
 * handed out (not canonical base64url, an unknown type, a key that cannot exist).
 */
export function fromGlobalId(value: string): { type: NodeType; key: NodeKey } | null {
  if (value.length > MAX_GLOBAL_ID || !BASE64URL.test(value)) return null;
  const decoded = Buffer.from(value, 'base64url').toString('latin1');
  // One object, one id: a non-canonical spelling of the same bytes names nothing.
  if (Buffer.from(decoded, 'latin1').toString('base64url') !== value) return null;
  const colon = decoded.indexOf(':');
  const type = decoded.slice(0, colon);
  if (colon < 1 || !isNodeType(type)) return null;
  const key = keyOf(type, decoded.slice(colon + 1));
  return key === null ? null : { type, key };
}

/**
 * The primary key of the `type` object that the ID argument `value` names: its global id, or
 * (transition) its raw key. A malformed id, or the id of another type, is BAD_USER_INPUT naming
 * `field` (`id`, `input.groupId`, `filter.userId`).
 *
 * @example nodeKey('VXNlcjo0Mg', 'User', 'id') // 42
 */
export function nodeKey<T extends NodeType>(value: string, type: T, field: string): NodeKey<T> {
  const key = nodeKeyOrNull(value, type);
  if (key === null) throw badInput(field, `${JSON.stringify(value.slice(0, 100))} is not the id of a ${type}`);
  return key;
}

/** `nodeKey` without the error: the key, or null when `value` names no `type` object. */
export function nodeKeyOrNull<T extends NodeType>(value: string, type: T): NodeKey<T> | null {
  const raw = keyOf(type, value);
  if (raw !== null) return raw;
  const global = fromGlobalId(value);
  return global?.type === type ? (global.key as NodeKey<T>) : null;
}
