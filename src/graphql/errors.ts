import { ApolloServerErrorCode, ApolloServerValidationErrorCode } from '@apollo/server/errors';
import { DriverException, ValidationError as OrmValidationError } from '@mikro-orm/core';
import { GraphQLError, Kind, type ASTNode, type GraphQLFormattedError } from 'graphql';
import { validationAbortedError } from 'graphql/validation/validationAbortedError';
import type { Logger } from '../config/logger';
import { GatehouseError } from '../errors';

/**
 * Every `extensions.code` a client can receive. README.md ("Errors") has the table of when each
 * is given, with an example; a test keeps the two equal.
 */
export const ERROR_CODES = [
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'QUERY_TOO_COMPLEX',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'INTERNAL_SERVER_ERROR',
] as const;
export type ErrorCodeName = (typeof ERROR_CODES)[number];

/**
 * The query limits, as `extensions.limit` of a QUERY_TOO_COMPLEX error names them: Gatehouse's
 * (QUERY_LIMITS in limits.ts) and graphql-js's own bound on the work of checking that
 * same-named fields can be merged (`validation`, which has no numbers to give).
 */
export type QueryLimitName = 'depth' | 'aliases' | 'directives' | 'tokens' | 'cost' | 'validation';

/** What a refused request error may say besides its code and message. */
export interface RefusalDetails {
  /** The argument whose literal value is refused (its top-level name: `input`, `first`). */
  argument?: string;
  /** The variable whose value is refused, without `$`. */
  variable?: string;
  /** The limit exceeded, with the allowed maximum and what the request asked for. */
  limit?: QueryLimitName;
  /** Absent for `validation`. */
  max?: number;
  /** Absent when counting stopped at the limit (tokens), so the real number is not known. */
  actual?: number;
}

/**
 * A request Gatehouse's own checks refuse before anything runs: a query limit or an input
 * value. Raised by validation rules (Apollo wraps them as validation errors) or by plugins;
 * `formatError` shows its code and details as they are. `http.status` 400 makes Apollo answer
 * 400 when the error is thrown from a plugin hook rather than reported by a validation rule.
 */
export class RequestRefusal extends GraphQLError {
  constructor(
    readonly code: 'BAD_USER_INPUT' | 'QUERY_TOO_COMPLEX',
    message: string,
    readonly details: RefusalDetails,
    nodes?: ASTNode | readonly ASTNode[],
  ) {
    super(message, { nodes, extensions: { code, ...details, http: { status: 400 } } });
    this.name = 'RequestRefusal';
  }
}

/** QUERY_TOO_COMPLEX naming `limit`, e.g. `Query depth 12 exceeds the limit of 10`. */
export function queryTooComplex(limit: QueryLimitName, message: string, max?: number, actual?: number): RequestRefusal {
  const details: RefusalDetails = { limit };
  if (max !== undefined) details.max = max;
  if (actual !== undefined) details.actual = actual;
  return new RequestRefusal('QUERY_TOO_COMPLEX', message, details);
}

/**
 * Where each literal value of a document stands: the argument, or the variable whose default
 * it is. Filled by `recordInputPositions` while the document is validated, read when a
 * validation error points at a value: that error is the client's value, not the document's
 * shape, so it is BAD_USER_INPUT naming the argument. Weak, so it goes with the document.
 */
const valuePositions = new WeakMap<ASTNode, { argument: string } | { variable: string }>();

/** Records `node` (a value or input-object field) as standing in `position`. */
export function recordValuePosition(node: ASTNode, position: { argument: string } | { variable: string }): void {
  valuePositions.set(node, position);
}

const VALUE_KINDS = new Set<string>([
  Kind.INT,
  Kind.FLOAT,
  Kind.STRING,
  Kind.BOOLEAN,
  Kind.NULL,
  Kind.ENUM,
  Kind.LIST,
  Kind.OBJECT,
  Kind.OBJECT_FIELD,
]);

// Codes Apollo gives a request that is itself malformed; they never come from a resolver.
const REQUEST_ERROR_CODES = new Set<string>([
  ApolloServerErrorCode.GRAPHQL_PARSE_FAILED,
  ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED,
  ApolloServerErrorCode.BAD_USER_INPUT,
  ApolloServerErrorCode.BAD_REQUEST,
  ApolloServerErrorCode.OPERATION_RESOLUTION_FAILURE,
  ApolloServerErrorCode.PERSISTED_QUERY_NOT_FOUND,
  ApolloServerErrorCode.PERSISTED_QUERY_NOT_SUPPORTED,
]);

// Codes a library may put on an error it throws for the client's input inside a resolver
// (type-graphql's argument validation): shown, since they describe the request.
const CLIENT_INPUT_CODES = new Set<string>([ApolloServerErrorCode.BAD_USER_INPUT, ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED]);

/** graphql-js's own message when the parser stops at `maxTokens` (see QUERY_LIMITS.maxTokens). */
const TOKEN_LIMIT_MESSAGE = /^Syntax Error: Document contains more tha[nt] (\d+) tokens\. Parsing aborted\.$/;

interface Translation {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

/**
 * A client's mistake as Gatehouse shows it, or null when the error is a server fault. Every
 * kind of mistake is told apart here and nowhere else:
 * - Gatehouse's own errors (UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT, NOT_FOUND, CONFLICT)
 *   and request refusals (query limits, input values) keep their code and details;
 * - a parse error is GRAPHQL_PARSE_FAILED, except the parser's token limit: QUERY_TOO_COMPLEX;
 * - graphql-js giving up validation (too many same-named fields to compare) is QUERY_TOO_COMPLEX;
 * - a validation error is GRAPHQL_VALIDATION_FAILED with graphql-js's message, except one that
 *   points at a literal value (wrong scalar, unknown enum value, missing input field): that is
 *   BAD_USER_INPUT naming the argument, as the same value given in a variable would be;
 * - a variable that cannot be coerced is BAD_USER_INPUT naming the variable.
 */
function translate(formatted: GraphQLFormattedError, error: unknown): Translation | null {
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (original instanceof GatehouseError) return { code: original.code, message: original.message, details: original.details };

  const refusal = [error, original].find((e): e is RequestRefusal => e instanceof RequestRefusal);
  if (refusal) return { code: refusal.code, message: refusal.message, details: { ...refusal.details } };

  const code = formatted.extensions?.code;
  if (error instanceof GraphQLError && !formatted.path && typeof code === 'string' && REQUEST_ERROR_CODES.has(code)) {
    if (code === ApolloServerErrorCode.GRAPHQL_PARSE_FAILED) {
      const tokens = TOKEN_LIMIT_MESSAGE.exec(formatted.message);
      if (tokens) {
        const max = Number(tokens[1]);
        // The parser stops at the limit, so a megabyte of tokens costs no more than the limit:
        // the number the document really has is not counted.
        return { code: 'QUERY_TOO_COMPLEX', message: `Query has more than ${max} tokens`, details: { limit: 'tokens', max } };
      }
    }
    if (code === ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED) {
      if (
        original instanceof GraphQLError &&
        original.extensions?.validationErrorCode === ApolloServerValidationErrorCode.INTROSPECTION_DISABLED
      )
        return { code, message: 'Introspection is disabled in production: the query asks for __schema or __type', details: {} };
      if (original === validationAbortedError)
        return {
          code: 'QUERY_TOO_COMPLEX',
          message: 'Query is too complex to validate: it has too many same-named fields to compare',
          details: { limit: 'validation' },
        };
      const node = error.nodes?.[0];
      const position = node && VALUE_KINDS.has(node.kind) ? valuePositions.get(node) : undefined;
      if (position) return { code: 'BAD_USER_INPUT', message: formatted.message, details: { ...position } };
    }
    if (code === ApolloServerErrorCode.BAD_USER_INPUT) {
      const node = error.nodes?.[0];
      if (node?.kind === Kind.VARIABLE_DEFINITION)
        return { code, message: formatted.message, details: { variable: node.variable.name.value } };
    }
    return { code, message: formatted.message, details: {} };
  }

  if (original instanceof GraphQLError && typeof original.extensions?.code === 'string' && CLIENT_INPUT_CODES.has(original.extensions.code))
    return { code: original.extensions.code, message: original.message, details: {} };
  return null;
}

/**
 * Apollo's `formatError`: the one place GraphQL errors are translated (see `translate`). A
 * client's mistake keeps its code and real message and is logged once at info level, without
 * a stack; anything else — a database or library failure, a resolver's bug — is logged in full
 * at error level and shown as INTERNAL_SERVER_ERROR with no SQL, no stack and no original
 * message.
 */
export function createFormatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const translation = translate(formatted, error);
    if (translation) {
      const { code, message, details } = translation;
      logger.info({ code, path: formatted.path, ...details, error: message }, 'GraphQL request refused');
      return { message, locations: formatted.locations, path: formatted.path, extensions: { code, ...details } };
    }
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    logger.error(
      {
        err: original,
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
