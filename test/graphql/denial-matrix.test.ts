import type { GraphQLSchema } from 'graphql';
import { buildGatehouseSchema } from '../../src/graphql/schema';
import { ACTIONS, ALL_MODELS, permissionFor } from '../../src/permissions/registry';
import { PERMISSIONS_WITHOUT_OPERATION } from '../../src/permissions/without-operation';
import { startTestServer, type TestServer } from '../support/server';
import { makeFixtures, operationFor, rootFields, sampleFor, type RootField } from './support/root-fields';

/*
 * The denial matrix, generated from the model registry: for every registered model and
 * action, every root field whose directive requires `<app>.<action>_<model>` is called
 *   - by a caller whose groups hold every other permission of the model but not that one:
 *     FORBIDDEN naming the permission, and no data table (admin log included) changes;
 *   - by a caller holding only that permission, through a group: not refused.
 * The fields come from the built schema's own directives, so new operations join the matrix
 * as soon as they exist (and fail it until they have a sample). A permission that no root field
 * requires fails both, unless src/permissions/without-operation.ts lists it: then the matrix
 * asserts that it indeed has no operation, so the list cannot go stale. The documents are built
 * from the schema at run time (operationFor), hence strings rather than typed documents.
 */
describe('the denial matrix (every model × add/change/delete/view × lacks/has)', () => {
  let server: TestServer;
  let schema: GraphQLSchema;
  let catalog: RootField[];
  beforeAll(async () => {
    [server, schema] = await Promise.all([startTestServer(), buildGatehouseSchema()]);
    catalog = rootFields(schema);
  });
  afterAll(() => server?.stop());
  const em = () => server.db.orm.em.fork();

  const covered = new Set<string>();

  for (const ref of ALL_MODELS) {
    for (const action of ACTIONS) {
      const permission = permissionFor(ref, action);
      describe(permission, () => {
        const fields = () =>
          catalog.filter((f) => f.access.kind === 'permission' && f.access.permission === permission).map((f) => f.coordinate);

        if (Object.hasOwn(PERMISSIONS_WITHOUT_OPERATION, permission)) {
          it('has no operation, as src/permissions/without-operation.ts says', () => {
            expect({ permission, operations: fields() }).toEqual({ permission, operations: [] });
          });
          return;
        }

        /** The root fields requiring the permission; none fails the test instead of passing it vacuously. */
        const required = () => {
          const found = fields();
          if (!found.length)
            throw new Error(
              `no root field requires ${permission}, and src/permissions/without-operation.ts does not list it: add the operation that needs it, or list the permission there with the reason`,
            );
          return found;
        };

        it(`refuses a caller without ${permission} (holding the model's other permissions) with FORBIDDEN naming it, and changes nothing`, async () => {
          const coordinates = required();
          const others = ACTIONS.filter((a) => a !== action).map((a) => permissionFor(ref, a));
          const { token } = await server.signInWith(others);
          for (const coordinate of coordinates) {
            covered.add(coordinate);
            const variables = sampleFor(coordinate, await makeFixtures(em()));
            const before = await server.db.snapshot();
            const result = await server.graphql(operationFor(schema, coordinate, variables), variables, token);
            expect({ coordinate, errors: result.errors?.map((e) => e.extensions) }).toEqual({
              coordinate,
              errors: [{ code: 'FORBIDDEN', permission }],
            });
            expect({ coordinate, data: result.data?.[coordinate.split('.')[1]] ?? null }).toEqual({ coordinate, data: null });
            expect({ coordinate, tables: await server.db.snapshot() }).toEqual({ coordinate, tables: before });
          }
        });

        it(`lets a caller holding only ${permission}, through a group, past the check`, async () => {
          const coordinates = required();
          const { token } = await server.signInWith([permission]);
          for (const coordinate of coordinates) {
            const variables = sampleFor(coordinate, await makeFixtures(em()));
            const result = await server.graphql(operationFor(schema, coordinate, variables), variables, token);
            // 200: the document and variables were valid, so the resolver was reached.
            expect({ coordinate, status: result.status }).toEqual({ coordinate, status: 200 });
            const refusals = (result.errors ?? []).filter(
              (e) => e.extensions?.code === 'FORBIDDEN' || e.extensions?.code === 'UNAUTHENTICATED',
            );
            expect({ coordinate, refusals }).toEqual({ coordinate, refusals: [] });
          }
        });
      });
    }
  }

  it('has covered every root field that requires a permission', () => {
    const required = catalog.filter((f) => f.access.kind === 'permission').map((f) => f.coordinate);
    expect(required.filter((c) => !covered.has(c))).toEqual([]);
    expect(required).toEqual(
      expect.arrayContaining([
        'Query.tweets',
        'Mutation.createTweet',
        'Mutation.deleteLanguage',
        'Query.logEntries',
        'Query.explainPermission',
      ]),
    );
  });
});
