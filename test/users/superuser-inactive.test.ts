import { getNamedType, isLeafType, isNonNullType, type GraphQLField } from 'graphql';
import { accessCatalog } from '../../src/graphql/access';
import { buildDeclaredSchema } from '../../src/graphql/schema';
import { ALL_PERMISSIONS } from '../../src/permissions/registry';
import { Session } from '../../src/sessions/session.entity';
import { User } from '../../src/users/user.entity';
import { makeGroup, makeUser } from '../support/factories';
import { LoginDocument, MeDocument as ME, UpdateUserDocument as UPDATE, UsersDocument as USERS } from '../generated/graphql';
import { onlyError } from '../support/graphql-client';
import { startTestServer, type TestServer } from '../support/server';
import { userFields } from './support';

/**
 * `{ field }` or `{ field { __typename } }` for every Query field that needs no argument, read from
 * the schema: built at run time, so a new query is covered as soon as it exists (hence strings,
 * not typed documents).
 */
async function argumentlessQueries(): Promise<Array<{ name: string; document: string; permission: string | null }>> {
  const schema = await buildDeclaredSchema();
  const access = new Map(accessCatalog(schema).map((entry) => [entry.coordinate, entry.access]));
  const fields = Object.values(schema.getQueryType()!.getFields()) as Array<GraphQLField<unknown, unknown>>;
  return fields
    .filter((field) => field.args.every((arg) => !isNonNullType(arg.type)))
    .map((field) => {
      const a = access.get(`Query.${field.name}`);
      return {
        name: field.name,
        document: `{ ${field.name}${isLeafType(getNamedType(field.type)) ? '' : ' { __typename }'} }`,
        permission: a?.kind === 'permission' ? a.permission : null,
      };
    });
}

describe('superusers and inactive users, end to end', () => {
  let server: TestServer;
  const em = () => server.db.orm.em.fork();
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('gives an active superuser, in no group and with no grant, every permission and every query', async () => {
    const root = await server.signInAsSuperuser();
    const me = await server.graphql(ME, {}, root.token);
    expect(me.data!.me!.permissions).toEqual(ALL_PERMISSIONS.map((p) => p.fullName).sort());
    const queries = await argumentlessQueries();
    expect(queries.filter((q) => q.permission).length).toBeGreaterThan(5);
    for (const query of queries) {
      const result = await server.graphql(query.document, {}, root.token);
      const denials = (result.errors ?? []).filter((e) => e.extensions?.code === 'FORBIDDEN' || e.extensions?.code === 'UNAUTHENTICATED');
      expect({ query: query.name, denials }).toEqual({ query: query.name, denials: [] });
    }
    const users = await server.graphql(USERS, { first: 5 }, root.token);
    expect(users.errors).toBeUndefined();
  });

  it('refuses the same queries to a signed-in user with no permission, naming each permission', async () => {
    const nobody = await server.signInWith([]);
    for (const query of (await argumentlessQueries()).filter((q) => q.permission)) {
      const result = await server.graphql(query.document, {}, nobody.token);
      expect({ query: query.name, extensions: result.errors?.[0]?.extensions }).toEqual({
        query: query.name,
        extensions: { code: 'FORBIDDEN', permission: query.permission },
      });
    }
  });

  it('gives an inactive superuser nothing: their existing token stops working and they cannot sign in', async () => {
    const root = await server.signInAsSuperuser();
    expect((await server.graphql(USERS, { first: 5 }, root.token)).errors).toBeUndefined();
    await em().nativeUpdate(User, { id: root.user.id }, { isActive: false });
    expect((await server.graphql(ME, {}, root.token)).data).toEqual({ me: null });
    expect(onlyError(await server.graphql(USERS, { first: 5 }, root.token)).extensions).toEqual({ code: 'UNAUTHENTICATED' });
    const login = await server.graphql(LoginDocument, { username: root.user.username, password: 'correct horse battery staple' });
    expect(onlyError(login).extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });

  it('stops an inactive user’s existing token, even one deactivated behind the API’s back', async () => {
    const group = await makeGroup(em(), ['auth.view_user']);
    const user = await makeUser(em(), { groups: [group] });
    const token = await server.signIn(user);
    expect(
      (await server.graphql(USERS, { first: 5 }, token)).errors?.filter((e) => e.extensions?.code === 'UNAUTHENTICATED') ?? [],
    ).toEqual([]);
    await em().nativeUpdate(User, { id: user.id }, { isActive: false });
    expect(onlyError(await server.graphql(USERS, { first: 5 }, token)).extensions).toEqual({ code: 'UNAUTHENTICATED' });
    // Reactivated, the session (still in the table) works again: it was refused for the user, not revoked.
    await em().nativeUpdate(User, { id: user.id }, { isActive: true });
    expect((await server.graphql(ME, {}, token)).data).toEqual({
      me: { user: { username: user.username }, permissions: ['auth.view_user'] },
    });
  });

  it('signs out a user deactivated mid-session through updateUser: UNAUTHENTICATED on their next request, sessions gone', async () => {
    const admin = await server.signInWith(['auth.change_user']);
    const victim = await server.signInWith(['auth.view_user']);
    const second = await server.signIn(victim.user);
    expect((await server.graphql(ME, {}, victim.token)).data?.me).not.toBeNull();
    const result = await server.graphql(UPDATE, { id: String(victim.user.id), input: { isActive: false } }, admin.token);
    expect(result.data).toEqual({ updateUser: userFields(victim.user, { isActive: false }) });
    for (const token of [victim.token, second])
      expect(onlyError(await server.graphql(USERS, { first: 5 }, token)).extensions).toEqual({ code: 'UNAUTHENTICATED' });
    expect(await em().count(Session, { user: victim.user.id })).toBe(0);
    // Reactivating does not bring the ended sessions back.
    await server.graphql(UPDATE, { id: String(victim.user.id), input: { isActive: true } }, admin.token);
    expect((await server.graphql(ME, {}, victim.token)).data).toEqual({ me: null });
  });
});
