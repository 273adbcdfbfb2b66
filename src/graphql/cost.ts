import type { ApolloServerPlugin } from '@apollo/server';
import { getNullableType, GraphQLError, isListType, type DocumentNode, type GraphQLSchema } from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../db/keyset';
import { queryTooComplex } from './errors';

/** How many items a list without paging (`User.groups`, `Group.permissions`) is assumed to hold. */
export const ASSUMED_LIST_SIZE = 10;

/**
 * The cost of one field: roughly how many values the server produces for it.
 * - a leaf or object field costs 1, plus what is selected under it;
 * - a paged field (one with a `first` argument) costs 1 plus its page size times what is selected
 *   under it. The page size is the argument's value however it is given — a literal, a variable,
 *   or left out (the server's default page) — capped at the largest page the server returns;
 * - the `edges` of a connection are already counted by the connection's page size;
 * - a list of objects named by an `ids` argument (`nodes(ids:)`) costs 1 plus one item per id;
 * - any other list costs 1 plus ASSUMED_LIST_SIZE times one item;
 * - introspection is free: graphql-js bounds its depth, and production turns it off.
 */
export const fieldCost: ComplexityEstimator = ({ field, args, childComplexity, type }) => {
  if (field.name === '__schema' || field.name === '__type') return 0;
  if (field.args.some((arg) => arg.name === 'first')) {
    const first: unknown = args.first;
    const pageSize =
      typeof first === 'number' && Number.isFinite(first) ? Math.min(Math.max(Math.trunc(first), 1), MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
    return 1 + pageSize * childComplexity;
  }
  if (field.name === 'edges' && type.name.endsWith('Connection')) return 1 + childComplexity;
  if (Array.isArray(args.ids)) return 1 + args.ids.length * Math.max(childComplexity, 1);
  if (isListType(getNullableType(field.type))) return 1 + ASSUMED_LIST_SIZE * Math.max(childComplexity, 1);
  return 1 + childComplexity;
};

/** graphql-query-complexity's message when an operation expands to more than `maxQueryNodes` selections. */
const TOO_MANY_NODES = 'Query exceeds the maximum allowed number of nodes.';

/**
 * The cost of one operation of `document`: `fieldCost` summed over its selections, with the
 * variables' values and the arguments' defaults, `@skip`/`@include` applied. `'unbounded'`
 * when its fragments expand to more than `maxSelections` selections (it is not costed to the
 * end); null when its variables cannot be coerced (execution refuses them, naming the variable,
 * before any resolver runs).
 */
export function operationCost(
  request: { schema: GraphQLSchema; document: DocumentNode; operationName?: string; variables?: Record<string, unknown> },
  maxSelections: number,
): number | 'unbounded' | null {
  try {
    return getComplexity({
      schema: request.schema,
      query: request.document,
      operationName: request.operationName,
      variables: request.variables ?? {},
      estimators: [fieldCost],
      maxQueryNodes: maxSelections,
    });
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    if (error.message === TOO_MANY_NODES) return 'unbounded';
    return null;
  }
}

/** How many (operation, variables) costs are kept per document. */
const COSTS_KEPT_PER_DOCUMENT = 32;

/**
 * Refuses an operation whose `operationCost` exceeds `maxCost`: QUERY_TOO_COMPLEX with
 * `limit: "cost"`, `max` and `actual`, HTTP 400, before any resolver runs. The same query costs
 * the same whether its page size is written inline, passed in a variable or left to a default.
 * An operation whose fragments expand to more than `maxCost` selections is refused without
 * `actual`.
 */
export function costLimitPlugin(maxCost: number): ApolloServerPlugin {
  // The cost of an operation depends only on the document, the operation and the variables:
  // kept per parsed document (Apollo keeps one per query text), for a few sets of variables.
  const costs = new WeakMap<DocumentNode, Map<string, ReturnType<typeof operationCost>>>();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          // No operation to run (an unknown operationName): execution says so.
          if (!operation) return;
          const operationName = operation.name?.value;
          const key = `${operationName ?? ''}\0${operation.variableDefinitions?.length ? JSON.stringify(request.variables ?? {}) : ''}`;
          let known = costs.get(document);
          if (!known) costs.set(document, (known = new Map()));
          let cost = known.get(key);
          if (cost === undefined) {
            cost = operationCost({ schema, document, operationName, variables: request.variables }, maxCost);
            if (known.size < COSTS_KEPT_PER_DOCUMENT && key.length <= 2048) known.set(key, cost);
          }
          if (cost === 'unbounded')
            throw queryTooComplex(
              'cost',
              `Query cost exceeds the limit of ${maxCost}: it expands to more than ${maxCost} selections`,
              maxCost,
            );
          if (cost !== null && cost > maxCost)
            throw queryTooComplex('cost', `Query cost ${cost} exceeds the limit of ${maxCost}`, maxCost, cost);
        },
      };
    },
  };
}
