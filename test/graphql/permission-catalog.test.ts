import { buildGatehouseSchema } from '../../src/graphql/schema';
import { makeUser } from '../support/factories';
import { PermissionCatalogDocument as CATALOG } from '../generated/graphql';
import { startTestServer, type TestServer } from '../support/server';

describe('Query.permissionCatalog', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it('lists every query and mutation of the running schema with the access its directive declares, to any signed-in user', async () => {
    const token = await server.signIn(await makeUser(server.db.orm.em.fork())); // no permission at all
    const result = await server.graphql(CATALOG, {}, token);
    expect(result.errors).toBeUndefined();
    const catalog = result.data!.permissionCatalog;

    const schema = await buildGatehouseSchema();
    const coordinates = [schema.getQueryType()!, schema.getMutationType()!].flatMap((type) =>
      Object.keys(type.getFields()).map((name) => `${type.name}.${name}`),
    );
    expect(catalog.map((c) => c.coordinate).sort()).toEqual(coordinates.sort());

    expect(catalog).toEqual(
      expect.arrayContaining([
        { coordinate: 'Mutation.createTweet', kind: 'PERMISSION', permission: 'core.add_tweet' },
        { coordinate: 'Query.languages', kind: 'PERMISSION', permission: 'core.view_language' },
        { coordinate: 'Query.logEntries', kind: 'PERMISSION', permission: 'admin.view_logentry' },
        { coordinate: 'Query.explainPermission', kind: 'PERMISSION', permission: 'auth.view_user' },
        { coordinate: 'Query.permissionCatalog', kind: 'AUTHENTICATED', permission: null },
        { coordinate: 'Mutation.logout', kind: 'AUTHENTICATED', permission: null },
        { coordinate: 'Mutation.login', kind: 'PUBLIC', permission: null },
        { coordinate: 'Query.me', kind: 'PUBLIC', permission: null },
      ]),
    );
    for (const entry of catalog) expect(entry.kind === 'PERMISSION').toBe(entry.permission !== null);
  });

  it('is refused to anonymous callers with UNAUTHENTICATED', async () => {
    const result = await server.graphql(CATALOG);
    expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'UNAUTHENTICATED' }]);
  });
});
