import { ApolloServerErrorCode } from '@apollo/server/errors';
import { DriverException, ValidationError as OrmValidationError } from '@mikro-orm/core';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../config/logger';
import { GatehouseError } from '../errors';

// Codes Apollo and graphql-js produce for a request that is itself malformed: safe to show.
const REQUEST_ERROR_CODES = new Set<string>([
  ApolloServerErrorCode.GRAPHQL_PARSE_FAILED,
  ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED,
  ApolloServerErrorCode.BAD_USER_INPUT,
  ApolloServerErrorCode.BAD_REQUEST,
  ApolloServerErrorCode.OPERATION_RESOLUTION_FAILURE,
  ApolloServerErrorCode.PERSISTED_QUERY_NOT_FOUND,
  ApolloServerErrorCode.PERSISTED_QUERY_NOT_SUPPORTED,
]);

/**
 * Apollo's `formatError`: the one place GraphQL errors are translated. Gatehouse's own errors
 * keep their code, message and details; request errors (parse, validation, variable
 * coercion) pass through; everything else — a database or library failure — is logged in
 * full and shown as INTERNAL_SERVER_ERROR with no SQL, no stack and no original message.
 */
export function createFormatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = error instanceof GraphQLError ? error.originalError : error;
    if (original instanceof GatehouseError) {
      return {
        message: original.message,
        path: formatted.path,
        locations: formatted.locations,
        extensions: { code: original.code, ...original.details },
      };
    }
    const code = formatted.extensions?.code;
    if (!original && typeof code === 'string' && REQUEST_ERROR_CODES.has(code)) {
      return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { code } };
    }
    // type-graphql argument validation and coercion problems surface as GraphQLErrors too.
    if (
      original instanceof GraphQLError &&
      typeof original.extensions?.code === 'string' &&
      REQUEST_ERROR_CODES.has(original.extensions.code)
    ) {
      return {
        message: original.message,
        path: formatted.path,
        locations: formatted.locations,
        extensions: { code: original.extensions.code },
      };
    }
    logger.error(
      {
        err: original ?? error,
        path: formatted.path,
        kind: original instanceof DriverException ? 'database' : original instanceof OrmValidationError ? 'orm' : 'unexpected',
      },
      'internal error while resolving a GraphQL request',
    );
    return {
      message: 'internal server error',
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
