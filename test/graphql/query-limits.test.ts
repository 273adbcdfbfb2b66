import { QUERY_LIMITS } from '../../src/graphql/limits';
import { UsersReadPathDocument } from '../generated/graphql';
import { startTestServer, type TestServer } from '../support/server';

describe('query limits', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    ({ token } = await server.signInWith(['auth.view_user', 'auth.view_group', 'auth.view_permission']));
  });
  afterAll(() => server.stop());

  // The refused documents below are invalid on purpose (too deep, too many aliases, too many tokens)
  // and the batch is a transport detail: they stay strings, which no typed document could be.
  /** Refused before anything runs: HTTP 400, QUERY_TOO_COMPLEX naming the limit and its numbers, never a "Syntax Error". */
  const expectRefused = (result: Awaited<ReturnType<TestServer['graphql']>>, pattern: RegExp, limit?: Record<string, unknown>) => {
    expect(result.status).toBe(400);
    expect(result.data).toBeUndefined();
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(result.errors?.[0].message).toMatch(pattern);
    expect(result.errors?.[0].message).not.toMatch(/Syntax Error/);
    if (limit) expect(result.errors?.[0].extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', ...limit });
  };

  it('accepts the headline admin query (depth 6)', async () => {
    const result = await server.graphql(UsersReadPathDocument, { first: 5 }, token);
    expect(result.errors).toBeUndefined();
  });

  it(`refuses a query deeper than ${QUERY_LIMITS.maxDepth} before running any resolver`, async () => {
    const deep =
      '{ users { edges { node { groups { users { edges { node { groups { users { edges { node { username } } } } } } } } } } } }';
    server.resetQueries();
    expectRefused(await server.graphql(deep, {}, token), /^Query depth 12 exceeds the limit of 10$/, {
      limit: 'depth',
      max: 10,
      actual: 12,
    });
    expect(server.queries.filter((sql) => !/auth_session/.test(sql))).toEqual([]);
  });

  it(`refuses more than ${QUERY_LIMITS.maxAliases} aliases`, async () => {
    const aliases = Array.from({ length: QUERY_LIMITS.maxAliases + 1 }, (_, i) => `a${i}: me { user { id } }`).join(' ');
    expectRefused(await server.graphql(`{ ${aliases} }`, {}, token), /alias/i, {
      limit: 'aliases',
      max: QUERY_LIMITS.maxAliases,
      actual: QUERY_LIMITS.maxAliases + 1,
    });
  });

  it(`refuses more than ${QUERY_LIMITS.maxDirectives} directives`, async () => {
    const fields = Array.from({ length: QUERY_LIMITS.maxDirectives + 2 }, () => 'permissions @include(if: true)').join(' ');
    expectRefused(await server.graphql(`{ me { ${fields} } }`, {}, token), /^Number of directives 52 exceeds the limit of 50$/, {
      limit: 'directives',
      max: QUERY_LIMITS.maxDirectives,
      actual: QUERY_LIMITS.maxDirectives + 2,
    });
  });

  it(`refuses more than ${QUERY_LIMITS.maxTokens} tokens with 400 (not 500), stopping the parser at the limit`, async () => {
    const query = `{ me { ${'permissions '.repeat(QUERY_LIMITS.maxTokens)} } }`;
    expectRefused(await server.graphql(query, {}, token), /^Query has more than 5000 tokens$/, {
      limit: 'tokens',
      max: QUERY_LIMITS.maxTokens,
    });
  });

  it(`accepts ${QUERY_LIMITS.maxTokens} tokens`, async () => {
    // `query Qn { __typename }` is 5 tokens.
    const query = Array.from({ length: QUERY_LIMITS.maxTokens / 5 }, (_, i) => `query Q${i} { __typename }`).join('\n');
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, operationName: 'Q7' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses a document too costly for graphql-js to validate (thousands of same-named fields)', async () => {
    const query = `{ me { ${'permissions '.repeat(QUERY_LIMITS.maxTokens - 6)} } }`;
    expectRefused(await server.graphql(query, {}, token), /too complex to validate/, { limit: 'validation' });
  });

  it(`refuses a query costing more than ${QUERY_LIMITS.maxCost}`, async () => {
    const query = '{ users(first: 500) { edges { node { username groups { name permissions { codename } } } } } }';
    expectRefused(await server.graphql(query, {}, token), /^Query cost 62001 exceeds the limit of 10000$/, {
      limit: 'cost',
      max: QUERY_LIMITS.maxCost,
      actual: 62001,
    });
  });

  it('refuses batched requests', async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify([{ query: '{ me { user { id } } }' }, { query: '{ me { user { id } } }' }]),
    });
    expect(response.status).toBe(400);
  });
});
