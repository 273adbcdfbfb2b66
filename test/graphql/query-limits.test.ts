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

  // The refused documents below are invalid on purpose (too deep, too many aliases) and the batch is
  // a transport detail: they stay strings, which no typed document could be.
  const expectRefused = (result: Awaited<ReturnType<TestServer['graphql']>>, pattern: RegExp) => {
    expect(result.status).toBe(400);
    expect(result.data).toBeUndefined();
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toMatch(pattern);
  };

  it('accepts the headline admin query (depth 6)', async () => {
    const result = await server.graphql(UsersReadPathDocument, { first: 5 }, token);
    expect(result.errors).toBeUndefined();
  });

  it(`refuses a query deeper than ${QUERY_LIMITS.maxDepth} before running any resolver`, async () => {
    const deep =
      '{ users { edges { node { groups { users { edges { node { groups { users { edges { node { username } } } } } } } } } } } }';
    server.resetQueries();
    expectRefused(await server.graphql(deep, {}, token), /depth/i);
    expect(server.queries.filter((sql) => !/auth_session/.test(sql))).toEqual([]);
  });

  it(`refuses more than ${QUERY_LIMITS.maxAliases} aliases`, async () => {
    const aliases = Array.from({ length: QUERY_LIMITS.maxAliases + 1 }, (_, i) => `a${i}: me { user { id } }`).join(' ');
    expectRefused(await server.graphql(`{ ${aliases} }`, {}, token), /alias/i);
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
