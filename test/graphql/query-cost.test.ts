import { getIntrospectionQuery } from 'graphql';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../src/db/keyset';
import { ASSUMED_LIST_SIZE } from '../../src/graphql/cost';
import { QUERY_LIMITS } from '../../src/graphql/limits';
import { startTestServer, type TestServer } from '../support/server';

const ROWS = '{ edges { node { username groups { name permissions { codename } } } } }';
/** What one user row of ROWS costs: edges 1 + node 1 + username 1 + groups (1 + 10 × (name 1 + permissions (1 + 10 × 1))). */
const ROW_COST = 1 + 1 + 1 + (1 + ASSUMED_LIST_SIZE * (1 + (1 + ASSUMED_LIST_SIZE * 1)));
const costOf = (first: number) => 1 + first * ROW_COST;

/**
 * The documents are built at run time, one selection written several ways on purpose (a literal,
 * a variable, a default, a fragment), so they stay strings.
 *
 * The cost limit counts a page by its size however the size is given — a literal, a variable,
 * a variable's default, or the server's default page — so the same query costs the same either way.
 */
describe('the query cost limit', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    ({ token } = await server.signInWith(['auth.view_user', 'auth.view_group', 'auth.view_permission']));
  });
  afterAll(() => server.stop());

  const refusal = (actual?: number) => ({
    code: 'QUERY_TOO_COMPLEX',
    limit: 'cost',
    max: QUERY_LIMITS.maxCost,
    ...(actual === undefined ? {} : { actual }),
  });

  it('costs the headline admin query at its default page as limits.ts says (6201)', () => {
    expect(costOf(DEFAULT_PAGE_SIZE)).toBe(6201);
  });

  it.each([
    ['a literal', `{ users(first: 500) ${ROWS} }`, {}],
    ['a variable', `query($n: Int) { users(first: $n) ${ROWS} }`, { n: 500 }],
    ['a variable’s default', `query($n: Int = 500) { users(first: $n) ${ROWS} }`, {}],
    ['a variable through a fragment', `query($n: Int!) { ...Page } fragment Page on Query { users(first: $n) ${ROWS} }`, { n: 500 }],
  ])('refuses first: 500 given as %s with the same cost, before any statement', async (_how, query, variables) => {
    server.resetQueries();
    const result = await server.graphql(query, variables, token);
    expect(result.status).toBe(400);
    expect(result.data).toBeUndefined();
    expect(result.errors).toEqual([{ message: `Query cost ${costOf(500)} exceeds the limit of 10000`, extensions: refusal(costOf(500)) }]);
    expect(server.queries.filter((sql) => !/auth_session/.test(sql))).toEqual([]);
  });

  it.each([
    ['omitted', `{ users ${ROWS} }`, {}],
    ['a variable left unset', `query($n: Int) { users(first: $n) ${ROWS} }`, {}],
    ['null', `query($n: Int) { users(first: $n) ${ROWS} }`, { n: null }],
  ])('counts the default page (%s) and answers', async (_how, query, variables) => {
    const result = await server.graphql(query, variables, token);
    expect(result.errors).toBeUndefined();
    expect(result.data).toHaveProperty('users.edges');
  });

  const largest = Math.floor((QUERY_LIMITS.maxCost - 1) / ROW_COST);

  it(`answers the largest page the limit admits (${largest}) and refuses one more, given in a variable`, async () => {
    const query = `query($n: Int!) { users(first: $n) ${ROWS} }`;
    expect((await server.graphql(query, { n: largest }, token)).errors).toBeUndefined();
    const over = await server.graphql(query, { n: largest + 1 }, token);
    expect(over.status).toBe(400);
    expect(over.errors?.[0].extensions).toEqual(refusal(costOf(largest + 1)));
  });

  it('does not count what @skip / @include leave out', async () => {
    const query = `query($n: Int!, $deep: Boolean!) { users(first: $n) { edges { node { username groups @include(if: $deep) { name permissions { codename } } } } } }`;
    expect((await server.graphql(query, { n: 500, deep: false }, token)).errors).toBeUndefined();
    expect((await server.graphql(query, { n: 500, deep: true }, token)).errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('multiplies nested pages', async () => {
    const query = '{ groups(first: 50) { edges { node { users(first: 100) { edges { node { username } } } } } } }';
    const result = await server.graphql(query, {}, token);
    expect(result.status).toBe(400);
    // groups: 1 + 50 × (edges 1 + node 1 + users (1 + 100 × (edges 1 + node 1 + username 1)))
    expect(result.errors?.[0].extensions).toEqual(refusal(1 + 50 * (1 + 1 + (1 + 100 * (1 + 1 + 1)))));
  });

  it(`counts a page larger than ${MAX_PAGE_SIZE} as ${MAX_PAGE_SIZE}, so the resolver answers BAD_USER_INPUT naming first`, async () => {
    const result = await server.graphql('query($n: Int) { users(first: $n) { totalCount } }', { n: 100000 }, token);
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('refuses fragments that expand to more selections than the limit, without costing them to the end', async () => {
    // 25 + 25² + 25³ selections from a document of a few hundred tokens.
    const spreads = (name: string) => Array.from({ length: 25 }, () => `...${name}`).join(' ');
    const query = [
      '{ ...F0 }',
      ...[0, 1, 2].map((i) => `fragment F${i} on Query { ${spreads(`F${i + 1}`)} }`),
      'fragment F3 on Query { __typename }',
    ].join('\n');
    const result = await server.graphql(query, {}, token);
    expect(result.status).toBe(400);
    expect(result.errors).toEqual([
      { message: 'Query cost exceeds the limit of 10000: it expands to more than 10000 selections', extensions: refusal() },
    ]);
  });

  it('lets Apollo Sandbox’s introspection query through (introspection is not costed)', async () => {
    const result = await server.graphql(
      getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, inputValueDeprecation: true }),
      {},
      token,
    );
    expect(result.errors).toBeUndefined();
    expect(result.data).toHaveProperty('__schema.queryType.name', 'Query');
  });
});
