import { Field, getMetadataStorage, Int, ObjectType, type ClassType } from 'type-graphql';
import type { PageInfo as PageInfoShape, Page } from '../db/keyset';

/*
 * The GraphQL face of a page (`src/db/keyset.ts` makes the pages): Relay's `PageInfo` and
 * a `<Node>Connection` / `<Node>Edge` pair per node type, as the Relay cursor connections
 * specification shapes them (https://relay.dev/graphql/connections.htm).
 */

@ObjectType({ description: 'Where a page stands (Relay’s PageInfo). Pages go forward only, with `first` and `after`.' })
export class PageInfo implements PageInfoShape {
  @Field({ description: 'Whether a page follows: pass `endCursor` as `after` to get it.' })
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'The cursor of the last edge; null for an empty page.' })
  endCursor!: string | null;

  @Field({ description: 'Always false: pages go forward only (Relay allows it for `first`/`after` pagination).' })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true, description: 'The cursor of the first edge; null for an empty page.' })
  startCursor!: string | null;
}

const connectionTypes = new Map<ClassType, ClassType>();

/** The GraphQL name of an object type class (`@ObjectType('Name')`), else the class's name. */
function nodeTypeName(nodeType: ClassType): string {
  const objectType = getMetadataStorage().objectTypes.find((type) => type.target === nodeType);
  return objectType?.name ?? nodeType.name;
}

/**
 * The Relay connection type `<Node>Connection` (with `<Node>Edge`) for `nodeType`, built once
 * per node type: `edges { cursor node }`, `pageInfo { hasNextPage endCursor hasPreviousPage startCursor }`,
 * `totalCount`.
 */
export function Connection<T extends object>(nodeType: ClassType<T>): ClassType<Page<T>> {
  const existing = connectionTypes.get(nodeType);
  if (existing) return existing as ClassType<Page<T>>;

  const name = nodeTypeName(nodeType);
  @ObjectType(`${nodeType.name}Edge`, { description: `One ${name} of a page, with its cursor.` })
  class EdgeType {
    @Field({ description: 'Where this edge is in the list: pass it as `after` to get what follows.' })
    cursor!: string;

    @Field(() => nodeType, { description: `The ${name}.` })
    node!: T;
  }

  @ObjectType(`${nodeType.name}Connection`, { description: `A page of ${name} objects (a Relay connection).` })
  class ConnectionType {
    @Field(() => [EdgeType], { description: 'The page’s edges, in the order the list states.' })
    edges!: EdgeType[];

    pageInfo!: PageInfoShape;

    @Field(() => PageInfo, { name: 'pageInfo', description: 'Where the page ends, and whether another follows.' })
    relayPageInfo(): PageInfo {
      return { ...this.pageInfo, hasPreviousPage: false, startCursor: this.edges[0]?.cursor ?? null };
    }

    totalCount!: () => Promise<number>;

    @Field(() => Int, { name: 'totalCount', description: 'How many nodes match, across all pages.' })
    countAll(): Promise<number> {
      return this.totalCount();
    }
  }

  connectionTypes.set(nodeType, ConnectionType);
  return ConnectionType as unknown as ClassType<Page<T>>;
}
