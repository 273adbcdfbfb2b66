import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { startGatehouse, type Gatehouse } from '../../src/app';
import { loadConfig } from '../../src/config/env';
import { createLogger } from '../../src/config/logger';
import type { PermissionName } from '../../src/permissions/registry';
import type { User } from '../../src/users/user.entity';
import { hashPassword } from '../../src/users/passwords';
import { createTestDatabase, type TestDatabase } from './database';
import { makeGroup, makeUser } from './factories';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
  headers: Headers;
}

/** `variables, token` after a typed document: `variables` is optional when it requires nothing. */
export type TypedArguments<TVariables> =
  Record<string, never> extends TVariables
    ? [variables?: TVariables, token?: string | null]
    : [variables: TVariables, token?: string | null];

/** A running Gatehouse on a database of its own, reached over real HTTP. */
export interface TestServer {
  readonly url: string;
  readonly db: TestDatabase;
  readonly gatehouse: Gatehouse;
  /** SQL statements the server ran since the last `resetQueries()`. */
  readonly queries: string[];
  resetQueries(): void;
  /**
   * POSTs a typed document of test/generated/graphql.ts (from test/operations/*.graphql): its
   * variables are checked and its data typed. Variables may be left out only when none is required.
   */
  graphql<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    ...rest: TypedArguments<TVariables>
  ): Promise<GraphQLResponse<TResult>>;
  /** POSTs a GraphQL operation; `token` is sent as `Authorization: Bearer`. */
  graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string | null,
  ): Promise<GraphQLResponse<T>>;
  /** Signs `user` in through the real `login` mutation (setting a password first) and returns the session token. */
  signIn(user: User, password?: string): Promise<string>;
  /** A new user holding `perms` through a new group, signed in. */
  signInWith(perms: readonly PermissionName[]): Promise<{ user: User; token: string }>;
  stop(): Promise<void>;
}

const TEST_PASSWORD = 'correct horse battery staple';

export async function startTestServer(options: { env?: Record<string, string>; enforce?: boolean } = {}): Promise<TestServer> {
  const db = await createTestDatabase();
  const queries: string[] = [];
  const config = loadConfig({ NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', DATABASE_URL: db.url, LOG_LEVEL: 'silent', ...options.env });
  const gatehouse = await startGatehouse(config, createLogger(config.LOG_LEVEL), {
    onQuery: (sql) => queries.push(sql),
    enforce: options.enforce,
  });
  const url = gatehouse.http.url;

  function graphql<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    ...rest: TypedArguments<TVariables>
  ): Promise<GraphQLResponse<TResult>>;
  function graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string | null,
  ): Promise<GraphQLResponse<T>>;
  async function graphql(
    document: string | TypedDocumentNode<unknown, unknown>,
    variables?: unknown,
    token?: string | null,
  ): Promise<GraphQLResponse<never>> {
    const query = typeof document === 'string' ? document : print(document);
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: never; errors?: never };
    return { status: response.status, data: body.data, errors: body.errors, headers: response.headers };
  }

  const signIn: TestServer['signIn'] = async (user, password = TEST_PASSWORD) => {
    await db.orm.em.fork().nativeUpdate('User', { id: user.id }, { password: await hashPassword(password) });
    const result = await graphql<{ login: { token: string } }>(
      'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }',
      { u: user.username, p: password },
    );
    if (!result.data?.login) throw new Error(`sign-in of ${user.username} failed: ${JSON.stringify(result.errors)}`);
    return result.data.login.token;
  };

  return {
    url,
    db,
    gatehouse,
    queries,
    resetQueries: () => {
      queries.length = 0;
    },
    graphql,
    signIn,
    async signInWith(perms) {
      const em = db.orm.em.fork();
      const user = await makeUser(em, { groups: [await makeGroup(em, perms)] });
      return { user, token: await signIn(user) };
    },
    async stop() {
      await gatehouse.stop();
      await db.drop();
    },
  };
}
