import { Field, Int, ObjectType, type ClassType } from 'type-graphql';
import type { PageInfo as PageInfoShape, Page } from '../db/keyset';

/*
 * The GraphQL face of a page (`src/db/keyset.ts` makes the pages): Relay's `PageInfo` and
 * a `<Node>Connection` / `<Node>Edge` pair per node type.
 */

@ObjectType()
export class PageInfo implements PageInfoShape {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
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
