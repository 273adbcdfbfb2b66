import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { GraphQLError, ParseOptions, ValidationContext, ValidationRule } from 'graphql';
import { costLimitPlugin } from './cost';
import { queryTooComplex } from './errors';
import { InputValuesRule, inputVariablesPlugin } from './input-values';

/**
 * Query limits: what one request may ask for, so that a single query cannot make the server or
 * the database do unbounded work. Each refusal is QUERY_TOO_COMPLEX with `extensions.limit`
 * naming the limit, `max` and (but for tokens) `actual`, HTTP 400, before any resolver runs.
 * The headline admin query
 * (`users(first: 50) { edges { node { username groups { name permissions { codename } } } } }`)
 * is depth 6 and costs 6201 (see cost.ts). Introspection (Apollo Sandbox) is exempt from the
 * depth and cost limits; graphql-js bounds its own depth.
 */
export const QUERY_LIMITS = {
  maxDepth: 10,
  maxAliases: 15,
  maxDirectives: 50,
  maxTokens: 5000,
  maxCost: 10000,
} as const;

// graphql-armor puts the number it found only in its message: "…limit of 10 exceeded, found 12."
const FOUND = /found (\d+)\.$/;

const DESCRIPTIONS: Record<'depth' | 'aliases' | 'directives', string> = {
  depth: 'Query depth',
  aliases: 'Number of aliases',
  directives: 'Number of directives',
};

/** graphql-armor's rejection handler, reporting QUERY_TOO_COMPLEX instead of its "Syntax Error". */
function reportAs(limit: keyof typeof DESCRIPTIONS, max: number) {
  return (context: ValidationContext | null, error: GraphQLError) => {
    const found = FOUND.exec(error.message);
    const actual = found ? Number(found[1]) : undefined;
    const message = `${DESCRIPTIONS[limit]}${actual === undefined ? '' : ` ${actual}`} exceeds the limit of ${max}`;
    context?.reportError(queryTooComplex(limit, message, max, actual));
  };
}

/** What Apollo Server needs to enforce QUERY_LIMITS and the input value checks. */
export function queryLimits(): { validationRules: ValidationRule[]; plugins: ApolloServerPlugin[]; parseOptions: ParseOptions } {
  const armor = new ApolloArmor({
    maxDepth: {
      n: QUERY_LIMITS.maxDepth,
      ignoreIntrospection: true,
      propagateOnRejection: false,
      onReject: [reportAs('depth', QUERY_LIMITS.maxDepth)],
    },
    maxAliases: { n: QUERY_LIMITS.maxAliases, propagateOnRejection: false, onReject: [reportAs('aliases', QUERY_LIMITS.maxAliases)] },
    maxDirectives: {
      n: QUERY_LIMITS.maxDirectives,
      propagateOnRejection: false,
      onReject: [reportAs('directives', QUERY_LIMITS.maxDirectives)],
    },
    // Tokens: graphql-js's parser stops at `maxTokens` itself (parseOptions below); armor's
    // counter throws from a plugin hook, which Apollo answers with HTTP 500.
    maxTokens: { enabled: false },
    // Cost: armor reads `first` only when it is a literal; costLimitPlugin reads it however given.
    costLimit: { enabled: false },
    // Apollo's hideSchemaDetailsFromClientErrors drops "Did you mean" hints in production.
    blockFieldSuggestion: { enabled: false },
  }).protect();
  return {
    validationRules: [...armor.validationRules, InputValuesRule],
    plugins: [...armor.plugins, inputVariablesPlugin(), costLimitPlugin(QUERY_LIMITS.maxCost)],
    parseOptions: { maxLexicalTokens: QUERY_LIMITS.maxTokens },
  };
}
