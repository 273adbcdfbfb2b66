import type { GraphQLSchema } from 'graphql';
import { buildGatehouseSchema } from '../../src/graphql/schema';
import { MeDocument } from '../generated/graphql';
import { startTestServer, type TestServer } from '../support/server';
import { makeFixtures, operationFor, rootFields, sampleFor } from './support/root-fields';

describe('anonymous callers', () => {
  let server: TestServer;
  let schema: GraphQLSchema;
  beforeAll(async () => {
    [server, schema] = await Promise.all([startTestServer(), buildGatehouseSchema()]);
  });
  afterAll(() => server?.stop());
  const em = () => server.db.orm.em.fork();

  // The documents are built from the schema at run time (root-fields.ts), so that a new root field
  // is swept as soon as it exists: strings, not typed documents.
  it('get UNAUTHENTICATED from every root field that is not @public (enumerated from the schema), and nothing is written', async () => {
    const protectedFields = rootFields(schema).filter((f) => f.access.kind !== 'public');
    expect(protectedFields.length).toBeGreaterThan(10);
    for (const { coordinate } of protectedFields) {
      const variables = sampleFor(coordinate, await makeFixtures(em()));
      const before = await server.db.snapshot();
      const result = await server.graphql(operationFor(schema, coordinate, variables), variables);
      expect({ coordinate, status: result.status, errors: result.errors?.map((e) => e.extensions) }).toEqual({
        coordinate,
        status: 200,
        errors: [{ code: 'UNAUTHENTICATED' }],
      });
      expect({ coordinate, tables: await server.db.snapshot() }).toEqual({ coordinate, tables: before });
    }
    // Two snapshots of every table per root field: the sweep grows with the schema, beyond the default timeout on a busy machine.
  }, 120_000);

  it('get UNAUTHENTICATED with a token that is not a session, exactly as without one', async () => {
    const variables = sampleFor('Query.tweets', await makeFixtures(em()));
    const result = await server.graphql(operationFor(schema, 'Query.tweets', variables), variables, 'not-a-session-token');
    expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'UNAUTHENTICATED' }]);
  });

  it('may use the @public fields: me is null and login is reachable', async () => {
    const publicFields = rootFields(schema)
      .filter((f) => f.access.kind === 'public')
      .map((f) => f.coordinate);
    expect(publicFields).toEqual(expect.arrayContaining(['Query.me', 'Mutation.login']));
    expect((await server.graphql(MeDocument)).data).toEqual({ me: null });
  });
});
