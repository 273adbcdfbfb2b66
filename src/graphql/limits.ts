import { ApolloArmor } from '@escape.tech/graphql-armor';

/**
 * Query limits (graphql-armor): what one request may ask for, so that a single query cannot
 * make the server or the database do unbounded work. The headline admin query
 * (`users { edges { node { groups { permissions { codename } } } } }`) is depth 6.
 * Introspection (Apollo Sandbox) is exempt from the depth and cost limits.
 */
export const QUERY_LIMITS = {
  maxDepth: 10,
  maxAliases: 15,
  maxDirectives: 50,
  maxTokens: 5000,
  maxCost: 10000,
} as const;

/** Apollo plugins and validation rules that enforce QUERY_LIMITS. */
export function queryLimits(): ReturnType<ApolloArmor['protect']> {
  return new ApolloArmor({
    maxDepth: { n: QUERY_LIMITS.maxDepth, ignoreIntrospection: true },
    maxAliases: { n: QUERY_LIMITS.maxAliases },
    maxDirectives: { n: QUERY_LIMITS.maxDirectives },
    maxTokens: { n: QUERY_LIMITS.maxTokens },
    costLimit: { maxCost: QUERY_LIMITS.maxCost, ignoreIntrospection: true },
    // Apollo's hideSchemaDetailsFromClientErrors already drops "Did you mean" hints in production.
    blockFieldSuggestion: { enabled: false },
  }).protect();
}
