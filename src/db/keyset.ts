import type { EntityClass, EntityProperty, FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput } from '../errors';
import { uuidId } from './ids';

/*
 * Keyset pagination, the one implementation behind every paginated list: a page is the rows
 * strictly after the previous page's last row in a fixed ordering whose last part is unique —
 * stable under inserts, no OFFSET. A cursor is that row's sort key as base64url JSON; decoding
 * one checks every part against what its column can hold, so a cursor the list never handed out
 * is BAD_USER_INPUT naming `after`, never garbage in SQL. Lists read through the EntityManager
 * use `findPage`; the raw-SQL read paths describe their ordering as a `Keyset` and use its
 * `decode`, `sqlAfter` and `page`.
 *
 * MikroORM's own `em.findByCursor` writes the same cursors but is not used: its `Cursor.decode`
 * checks nothing (a forged cursor reaches SQL, the bug this module exists to prevent), and it
 * counts every page eagerly where a connection counts only when `totalCount` is asked for.
 */

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

/** A page of a Relay connection; `totalCount` is computed only when the client asks for it. */
export interface Page<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
  totalCount: () => Promise<number>;
}

/** What one part of a sort key is, hence what a cursor may hold there. */
export type KeyType = 'integer' | 'text' | 'uuid' | 'timestamp';
export type Direction = 'asc' | 'desc';

export interface KeyPart<Row> {
  readonly type: KeyType;
  /** The SQL expression the part sorts by (raw-SQL lists), e.g. `u.username`. */
  readonly column?: string;
  /** The part's value in a row, as the cursor carries it (a timestamp as an ISO 8601 string). */
  value(row: Row): unknown;
}

/** Validates a requested page size: 1..MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE when omitted. */
export function pageSize(first: number | null | undefined): number {
  if (first === undefined || first === null) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) throw badInput('first', `must be between 1 and ${MAX_PAGE_SIZE}`);
  return first;
}

/** Opaque cursor for a position in an ordering: the sort key, base64url-encoded. */
export function encodeCursor(key: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

const badCursor = () => badInput('after', 'is not a cursor from this connection');

const INT4_MIN = -(2 ** 31);
const INT4_MAX = 2 ** 31 - 1;
const MAX_TEXT_KEY = 300;
// Years 0001-9999 in UTC, up to microseconds: what PostgreSQL stores and `toISOString` writes.
const TIMESTAMP = /^(?!0000)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z$/;

/** True when `value` is something a column of `type` can hold. */
function holds(type: KeyType, value: unknown): boolean {
  switch (type) {
    case 'integer':
      return Number.isSafeInteger(value) && (value as number) >= INT4_MIN && (value as number) <= INT4_MAX;
    case 'text':
      // PostgreSQL text cannot hold NUL; no key of a row is longer.
      return typeof value === 'string' && value.length <= MAX_TEXT_KEY && !value.includes('\u0000');
    case 'uuid':
      return typeof value === 'string' && uuidId(value) !== null;
    case 'timestamp': {
      if (typeof value !== 'string' || !TIMESTAMP.test(value)) return false;
      const date = new Date(value);
      // A real instant, written as itself (no 2024-02-30 rolled over to March).
      return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 19) === value.slice(0, 19);
    }
  }
}

/**
 * A keyset ordering: its parts in order (the last unique), all in one direction, and an optional
 * tag written first in each cursor, so that a cursor of another ordering of the same list is
 * refused rather than misread.
 *
 * @example
 *   const byName = new Keyset<GroupRow>([{ type: 'text', column: 'g.name', value: (row) => row.name }]);
 *   const key = byName.decode(after);                   // null, or ['viewer']
 *   const condition = key && byName.sqlAfter(key);      // { sql: 'g.name > ?', params: ['viewer'] }
 */
export class Keyset<Row> {
  constructor(
    readonly parts: ReadonlyArray<KeyPart<Row>>,
    readonly options: { direction?: Direction; tag?: string } = {},
  ) {}

  get direction(): Direction {
    return this.options.direction ?? 'asc';
  }

  /** The key `after` names, each part checked against its type; null when `after` is absent or empty. */
  decode(after: string | null | undefined): unknown[] | null {
    if (!after) return null;
    const { tag } = this.options;
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
    } catch {
      throw badCursor();
    }
    if (!Array.isArray(decoded) || decoded.length !== this.parts.length + (tag === undefined ? 0 : 1)) throw badCursor();
    const key = tag === undefined ? decoded : decoded.slice(1);
    if (tag !== undefined && decoded[0] !== tag) throw badInput('after', `is a cursor of another ordering than ${tag}`);
    if (!this.parts.every((part, i) => holds(part.type, key[i]))) throw badCursor();
    return key;
  }

  /** The cursor of `row`. */
  cursor(row: Row): string {
    const key = this.parts.map((part) => part.value(row));
    return encodeCursor(this.options.tag === undefined ? key : [this.options.tag, ...key]);
  }

  /** The raw-SQL `order by` list of this ordering, e.g. `u.date_joined desc, u.id desc`. */
  sqlOrderBy(): string {
    return this.columns()
      .map((column) => `${column} ${this.direction}`)
      .join(', ');
  }

  /**
   * The raw-SQL condition "strictly after `key`": `a > ?` for one part, a row comparison
   * `(a, b) > (?::timestamptz, ?)` for several. `key` comes from `decode`.
   */
  sqlAfter(key: readonly unknown[]): { sql: string; params: unknown[] } {
    const op = this.direction === 'asc' ? '>' : '<';
    const columns = this.columns();
    const placeholders = this.parts.map((part) => (part.type === 'timestamp' ? '?::timestamptz' : '?'));
    const sql = columns.length === 1 ? `${columns[0]} ${op} ?` : `(${columns.join(', ')}) ${op} (${placeholders.join(', ')})`;
    return { sql, params: [...key] };
  }

  private columns(): string[] {
    return this.parts.map((part) => {
      if (!part.column) throw new Error('Keyset: a raw-SQL ordering needs the SQL column of every part');
      return part.column;
    });
  }

  /**
   * A page of `rows` fetched with `limit + 1`: the extra row only tells whether a next page
   * exists. `node` turns a row into what the connection returns (the row itself by default).
   */
  page<Node = Row>(rows: readonly Row[], limit: number, totalCount: () => Promise<number>, node?: (row: Row) => Node): Page<Node> {
    return this.pageOf(rows.slice(0, limit), rows.length > limit, totalCount, node);
  }

  /** A page of exactly `rows`, when whether more follow is already known. */
  pageOf<Node = Row>(
    rows: readonly Row[],
    hasNextPage: boolean,
    totalCount: () => Promise<number>,
    node: (row: Row) => Node = (row) => row as unknown as Node,
  ): Page<Node> {
    const edges = rows.map((row) => ({ node: node(row), cursor: this.cursor(row) }));
    return { edges, pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null }, totalCount };
  }
}

/** An ordering of an entity's properties, the last one unique (usually the primary key). */
export type Ordering<E> = ReadonlyArray<readonly [property: keyof E & string, direction: Direction]>;

/**
 * Reads one page of `entity` rows matching `where`, in `ordering`, after the cursor `args.after`,
 * through the EntityManager; the key types come from the entity's metadata. `totalCount` runs
 * only when called. A malformed cursor or page size is BAD_USER_INPUT naming `after` / `first`.
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
  const properties = em.getMetadata().get<E>(entity.name).properties as Record<string, EntityProperty | undefined>;
  const keyset = new Keyset<E>(
    ordering.map(([property]) => {
      const prop = properties[property];
      if (!prop) throw new Error(`findPage: ${entity.name} has no property ${property}`);
      const type = keyTypeOf(prop);
      return { type, value: (row: E) => (type === 'timestamp' ? (row[property] as Date).toISOString() : row[property]) };
    }),
  );
  const conditions: FilterQuery<E>[] = [where];
  const key = keyset.decode(args.after);
  if (key)
    conditions.push(
      filterAfter(
        ordering,
        key.map((value, i) => (keyset.parts[i].type === 'timestamp' ? new Date(value as string) : value)),
      ),
    );
  const rows = await em.find(entity, { $and: conditions } as FilterQuery<E>, {
    orderBy: ordering.map(([property, direction]) => ({ [property]: direction })) as never,
    limit: limit + 1,
    populate: (options.populate ?? []) as never,
  });
  return keyset.page(rows, limit, () => em.count(entity, where));
}

/** What kind of key a property of an entity holds, read from its metadata. */
export function keyTypeOf(prop: EntityProperty): KeyType {
  if (prop.runtimeType === 'Date') return 'timestamp';
  if (prop.runtimeType === 'number') return 'integer';
  if (prop.columnTypes?.[0] === 'uuid' || String(prop.type).toLowerCase() === 'uuid') return 'uuid';
  return 'text';
}

/** Rows strictly after `key` in `ordering`: (a > x) or (a = x and b > y) or … */
function filterAfter<E>(ordering: Ordering<E>, key: readonly unknown[]): FilterQuery<E> {
  const branches = ordering.map(([property, direction], i) => {
    const branch: Record<string, unknown> = {};
    for (let j = 0; j < i; j++) branch[ordering[j][0]] = key[j];
    branch[property] = { [direction === 'asc' ? '$gt' : '$lt']: key[i] };
    return branch;
  });
  return { $or: branches } as FilterQuery<E>;
}
