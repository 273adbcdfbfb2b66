import { GraphQLError, type ValidationRule } from 'graphql';

/**
 * Refuses an operation of a type the schema does not define — Gatehouse has queries and
 * mutations, no subscriptions — at validation, so that it is GRAPHQL_VALIDATION_FAILED like any
 * document that does not fit the schema. graphql-js 16 lets it through validation and fails it
 * in execution ("Schema is not configured to execute subscription operation."), an error with no
 * code that would be masked as a server fault; graphql-js 17 adds this rule as
 * `KnownOperationTypesRule`, with this message.
 */
export const KnownOperationTypesRule: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (!context.getSchema().getRootType(node.operation))
      context.reportError(new GraphQLError(`The ${node.operation} operation is not supported by the schema.`, { nodes: node }));
  },
});
