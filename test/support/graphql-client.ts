import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { buildClientSchema, getIntrospectionQuery, print, type GraphQLSchema, type IntrospectionQuery } from 'graphql';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
  /** The whole JSON body as sent, for assertions on exactly what came back. */
  body: unknown;
  headers: Headers;
}

/** `variables, token` after a typed document: `variables` is optional when it requires nothing. */
export type TypedArguments<TVariables> =
  Record<string, never> extends TVariables
    ? [variables?: TVariables, token?: string | null]
    : [variables: TVariables, token?: string | null];

/** How a request reaches the server: plain `fetch` by default, or a Browser's `request` (its cookie jar). */
export type Transport = (url: string, init: RequestInit) => Promise<Response>;

/**
 * POSTs GraphQL operations to `<baseUrl>/graphql`; a `token` is sent as `Authorization: Bearer`.
 *
 * Tests send the typed documents of test/generated/graphql.ts (generated from
 * test/operations/*.graphql by `npm run schema`), whose variables are checked and whose data is
 * typed. A string document is for what cannot be one, each saying why where it is written: a
 * document that is invalid on purpose, or one built at run time from the schema or the registry.
 */
export interface GraphQLClient {
  <TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    ...rest: TypedArguments<TVariables>
  ): Promise<GraphQLResponse<TResult>>;
  <T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResponse<T>>;
}

/** A client for the Gatehouse at `baseUrl`, sending `headers` (e.g. a session cookie) with every request. */
export function graphqlClient(baseUrl: string, options: { headers?: Record<string, string>; transport?: Transport } = {}): GraphQLClient {
  const transport: Transport = options.transport ?? ((url, init) => fetch(url, init));

  function request<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    ...rest: TypedArguments<TVariables>
  ): Promise<GraphQLResponse<TResult>>;
  function request<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string | null,
  ): Promise<GraphQLResponse<T>>;
  async function request(
    document: string | TypedDocumentNode<unknown, unknown>,
    variables?: unknown,
    token?: string | null,
  ): Promise<GraphQLResponse<never>> {
    const query = typeof document === 'string' ? document : print(document);
    const response = await transport(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...options.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    let body: { data?: never; errors?: never };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new Error(`POST ${baseUrl}/graphql answered ${response.status} with a body that is not JSON: ${text.slice(0, 300)}`);
    }
    return { status: response.status, data: body.data, errors: body.errors, body, headers: response.headers };
  }
  return request;
}

/** The one error of a response, asserting there is exactly one. */
export function onlyError(result: GraphQLResponse<unknown>): { message: string; extensions: Record<string, unknown> } {
  expect(result.errors).toHaveLength(1);
  const [error] = result.errors!;
  return { message: error.message, extensions: error.extensions ?? {} };
}

/** The schema as the server behind `graphql` serves it, read by introspection over HTTP (with the schema's own description when asked). */
export async function introspect(
  graphql: GraphQLClient,
  token: string | null = null,
  options: { schemaDescription?: boolean } = {},
): Promise<GraphQLSchema> {
  const result = await graphql<IntrospectionQuery>(getIntrospectionQuery({ descriptions: true, ...options }), {}, token);
  if (!result.data || result.errors) throw new Error(`introspection failed: ${JSON.stringify(result.errors)}`);
  return buildClientSchema(result.data);
}
