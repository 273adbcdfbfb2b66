import type { ApolloServerOptionsWithGateway } from '@apollo/server';
import {
  execute,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isSpecifiedScalarType,
  typeFromAST,
  type GraphQLInputType,
  getOperationAST,
  GraphQLError,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { getVariableValues } from 'graphql/execution/values';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

type Gateway = ApolloServerOptionsWithGateway<Record<string, unknown>>['gateway'];

/** What one operation of a document runs as: its compiled form, or graphql-js when it cannot be compiled. */
type Plan = { compiled: CompiledQuery } | { compiled: null };

/** Operations compiled per parsed document: Apollo keeps one DocumentNode per query text (its document store). */
const plans = new WeakMap<DocumentNode, Map<string, Plan>>();

/** Past this many operations in one document, further ones run on graphql-js rather than being compiled and kept. */
const MAX_OPERATIONS_PER_DOCUMENT = 8;

/**
 * Apollo Server's execution replaced by graphql-jit: each operation of a document Apollo has
 * parsed and validated is compiled once into JavaScript (its selections, arguments and
 * serializers unrolled), kept as long as Apollo keeps the document, and run with the same
 * resolvers — so the access guards of `access.ts`, which wrap the resolvers, run exactly as they
 * do under graphql-js — and the same context. What stays with Apollo: parsing, validation (the
 * query limits), the plugins, error formatting (`formatError`) and the response.
 *
 * The answer is graphql-js's in every observable respect: variables are coerced by graphql-js
 * first (so a bad variable is refused with graphql-js's message and Apollo's HTTP 400), the
 * errors are graphql-js `GraphQLError`s with the resolver's error as `originalError`, and an
 * operation graphql-jit declines to compile runs on graphql-js.
 *
 * Handed to Apollo as a gateway (its documented hook for replacing execution) that serves one
 * fixed schema.
 */
export function compiledExecution(schema: GraphQLSchema): Gateway {
  let onSchema: Parameters<Gateway['onSchemaLoadOrUpdate']>[0] | null = null;
  return {
    onSchemaLoadOrUpdate(callback) {
      onSchema = callback;
      return () => (onSchema = null);
    },
    async load() {
      onSchema?.({ apiSchema: schema, coreSupergraphSdl: '' });
      return {
        executor: async (request) =>
          executeCompiled(
            schema,
            request.document,
            request.operation,
            request.request.operationName,
            request.request.variables,
            request.context,
          ),
      };
    },
    async stop() {},
  };
}

/** Runs `operation` (named `operationName` in the request) of `document`, already validated: compiled, or on graphql-js when it cannot be. */
export async function executeCompiled(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode | null | undefined,
  operationName: string | undefined,
  variables: Record<string, unknown> | undefined,
  context: unknown,
): Promise<ExecutionResult> {
  // No operation resolved (an unknown operationName): graphql-js says so, as Apollo expects.
  if (!operation) return execute({ schema, document, operationName, variableValues: variables, contextValue: context });
  const plan = planFor(schema, document, operationName);
  if (!plan.compiled) return execute({ schema, document, operationName, variableValues: variables, contextValue: context });
  let input: Record<string, unknown> = {};
  if (operation.variableDefinitions?.length) {
    // graphql-js coerces (its messages, its defaults); graphql-jit, whose own coercion leaves out
    // the defaults of required input fields, gets the result back in its external form.
    const coerced = getVariableValues(schema, operation.variableDefinitions, variables ?? {}, { maxErrors: 50 });
    if (coerced.errors) return { errors: coerced.errors };
    input = externalVariables(schema, operation, coerced.coerced);
  }
  const result = await plan.compiled.query(undefined, context, input);
  return result.errors?.length ? { ...result, errors: result.errors.map(asGraphQLJsError) } : result;
}

/** Coerced variable values written back as a client would send them (enum names, serialized scalars), defaults included. */
function externalVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  coerced: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (!(name in coerced)) continue;
    out[name] = external(typeFromAST(schema, definition.type) as GraphQLInputType, coerced[name]);
  }
  return out;
}

function external(type: GraphQLInputType, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (isNonNullType(type)) return external(type.ofType, value);
  if (isListType(type)) return Array.isArray(value) ? value.map((item) => external(type.ofType, item)) : external(type.ofType, value);
  if (isInputObjectType(type)) {
    const fields = type.getFields();
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>))
      out[key] = fields[key] ? external(fields[key].type, item) : item;
    return out;
  }
  if (isEnumType(type)) return type.serialize(value);
  if (isSpecifiedScalarType(type)) return value;
  return type.serialize(value);
}

function planFor(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined): Plan {
  let byOperation = plans.get(document);
  if (!byOperation) plans.set(document, (byOperation = new Map()));
  const key = operationName ?? '';
  let plan = byOperation.get(key);
  if (plan) return plan;
  plan = { compiled: null };
  if (byOperation.size < MAX_OPERATIONS_PER_DOCUMENT && getOperationAST(document, operationName)) {
    const compiled = compileQuery(schema, document, operationName, { disablingCapturingStackErrors: true });
    if (isCompiledQuery(compiled)) plan = { compiled };
  }
  byOperation.set(key, plan);
  return plan;
}

/**
 * graphql-jit reports errors with a GraphQLError look-alike (its own constructor, no `nodes`,
 * `extensions` possibly undefined): the same error as graphql-js's `locatedError` builds it —
 * message, locations, path, the resolver's error as `originalError` and its extensions.
 */
function asGraphQLJsError(error: GraphQLError): GraphQLError {
  if (error.constructor === GraphQLError) return error;
  const converted = new GraphQLError(error.message, {
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions: error.extensions,
  });
  if (error.locations?.length) (converted as { locations?: GraphQLError['locations'] }).locations = error.locations;
  return converted;
}
