import { Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { badInput } from '../errors';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
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

const connectionTypes = new Map<ClassType, ClassType>();

/**
 * The Relay connection type `<Node>Connection` (with `<Node>Edge`) for `nodeType`, built once
 * per node type: `edges { cursor node }`, `pageInfo { hasNextPage endCursor }`, `totalCount`.
 */
export function Connection<T extends object>(nodeType: ClassType<T>): ClassType<Page<T>> {
  const existing = connectionTypes.get(nodeType);
  if (existing) return existing as ClassType<Page<T>>;

  @ObjectType(`${nodeType.name}Edge`)
  class EdgeType {
    @Field()
    cursor!: string;

    @Field(() => nodeType)
    node!: T;
  }

  @ObjectType(`${nodeType.name}Connection`)
  class ConnectionType {
    @Field(() => [EdgeType])
    edges!: EdgeType[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    totalCount!: () => Promise<number>;

    @Field(() => Int, { name: 'totalCount', description: 'How many nodes match, across all pages.' })
    countAll(): Promise<number> {
      return this.totalCount();
    }
  }

  connectionTypes.set(nodeType, ConnectionType);
  return ConnectionType as unknown as ClassType<Page<T>>;
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

/** Decodes a cursor made by `encodeCursor`; a malformed one is BAD_USER_INPUT naming `after`. */
export function decodeCursor(cursor: string, arity: number): unknown[] {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === arity) return key;
  } catch {
    // fall through
  }
  throw badInput('after', 'is not a cursor from this connection');
}

/**
 * Builds a page from `rows` fetched with `limit + 1`: the extra row only tells whether a
 * next page exists.
 */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => readonly unknown[], totalCount: () => Promise<number>): Page<T> {
  const nodes = rows.slice(0, limit);
  const edges = nodes.map((node) => ({ node, cursor: encodeCursor(keyOf(node)) }));
  return { edges, pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null }, totalCount };
}
