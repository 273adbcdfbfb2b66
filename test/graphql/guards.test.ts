import { getDirective } from '@graphql-tools/utils';
import { getNamedType, isObjectType, type GraphQLField, type GraphQLSchema } from 'graphql';
import { buildGatehouseSchema } from '../../src/graphql/schema';
import { CreateGroupDocument, LogEntriesWithActorDocument as ENTRIES } from '../generated/graphql';
import { startTestServer, type TestServer } from '../support/server';
import { globalIdOf } from '../support/global-ids';

/*
 * Every object field of the schema that returns a user, a group or a permission, walked from
 * the built schema: each is guarded by the permission to see that kind of object, or reached
 * only through fields so guarded, or is one of the deliberate exceptions below, each with its
 * reason. A new field returning one of them fails this test until it is one of the three.
 */

/** The permissions that let a caller see each kind of object. Django admin lets `change` see what it may change. */
const SEEING: Record<string, readonly string[]> = {
  User: ['auth.view_user', 'auth.change_user'],
  Group: ['auth.view_group', 'auth.change_group'],
  Permission: ['auth.view_permission'],
};

/** Fields that return one without such a guard, on purpose. */
const EXCEPTIONS: Record<string, string> = {
  'Me.user': 'the caller’s own account',
  'LoginResult.user': 'the account the caller has just signed in as, with its own password',
  'Mutation.createUser': 'the account the caller has just created from its own input (auth.add_user)',
  'Mutation.createGroup': 'the group the caller has just created from its own input (auth.add_group)',
};

const ROOTS = new Set(['Query', 'Mutation', 'Subscription']);

function guardOf(schema: GraphQLSchema, field: GraphQLField<unknown, unknown>): string | null {
  return (getDirective(schema, field, 'hasPermission')?.[0]?.permission as string | undefined) ?? null;
}

/** Every (type, field) of the schema's object types, introspection aside. */
function allFields(schema: GraphQLSchema): Array<{ type: string; field: GraphQLField<unknown, unknown> }> {
  return Object.values(schema.getTypeMap())
    .filter((type) => isObjectType(type) && !type.name.startsWith('__'))
    .flatMap((type) =>
      Object.values((type as { getFields(): Record<string, GraphQLField<unknown, unknown>> }).getFields()).map((field) => ({
        type: type.name,
        field,
      })),
    );
}

/**
 * True when every field that returns `typeName` is guarded by one of `permissions`, or sits on a
 * type that is itself reached only that way (never a root type).
 */
function reachedOnlyUnder(schema: GraphQLSchema, typeName: string, permissions: readonly string[], seen = new Set<string>()): boolean {
  if (ROOTS.has(typeName)) return false;
  if (seen.has(typeName)) return true; // a cycle adds no way in
  seen.add(typeName);
  const ways = allFields(schema).filter(({ field }) => getNamedType(field.type).name === typeName);
  return (
    ways.length > 0 &&
    ways.every(
      ({ type, field }) => permissions.includes(guardOf(schema, field) ?? '') || reachedOnlyUnder(schema, type, permissions, new Set(seen)),
    )
  );
}

describe('fields that return users, groups or permissions', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildGatehouseSchema();
  });

  it('each has a guard, is reached only through guarded fields, or is a listed exception', () => {
    const unguarded: string[] = [];
    const found: string[] = [];
    for (const { type, field } of allFields(schema)) {
      const returns = getNamedType(field.type).name;
      if (!(returns in SEEING)) continue;
      const coordinate = `${type}.${field.name}`;
      found.push(coordinate);
      if (coordinate in EXCEPTIONS) continue;
      const permissions = SEEING[returns];
      if (permissions.includes(guardOf(schema, field) ?? '')) continue;
      if (reachedOnlyUnder(schema, type, permissions)) continue;
      unguarded.push(`${coordinate}: ${returns}`);
    }
    expect(unguarded).toEqual([]);
    // The walk did see the fields it is about (and the exceptions still exist).
    expect(found).toEqual(
      expect.arrayContaining(['LogEntry.user', 'UserEdge.node', 'User.groups', 'Membership.group', ...Object.keys(EXCEPTIONS)]),
    );
  });

  it('guards LogEntry.user with auth.view_user', () => {
    const field = (schema.getType('LogEntry') as { getFields(): Record<string, GraphQLField<unknown, unknown>> }).getFields().user;
    expect(guardOf(schema, field)).toBe('auth.view_user');
  });
});

describe('LogEntry.user over HTTP', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('refuses admin.view_logentry alone the actor’s account (e-mail, superuser flag), showing its id and username as Django’s history does', async () => {
    const root = await server.signInAsSuperuser();
    await server.db.orm.em.fork().nativeUpdate('User', { id: root.user.id }, { email: 'root@example.com' });
    // Any audited change by the superuser makes it an actor of the log.
    await server.graphql(CreateGroupDocument, { input: { name: 'made-by-root' } }, root.token);
    const reader = await server.signInWith(['admin.view_logentry']);
    // Its admin changes (its sign-ins are in the log too, with the same guard on `user`).
    const result = await server.graphql(ENTRIES, { filter: { userId: String(root.user.id), isEvent: false } }, reader.token);
    const entry = result.data!.logEntries.edges[0].node;
    expect(entry).toEqual({ userId: globalIdOf(root.user), username: root.user.username, user: null });
    expect(result.errors?.map((e) => [e.path?.at(-1), e.extensions])).toEqual([
      ['user', { code: 'FORBIDDEN', permission: 'auth.view_user' }],
    ]);
    expect(JSON.stringify(result.body)).not.toContain('root@example.com');

    const viewer = await server.signInWith(['admin.view_logentry', 'auth.view_user']);
    const allowed = await server.graphql(ENTRIES, { filter: { userId: String(root.user.id), isEvent: false } }, viewer.token);
    expect(allowed.errors).toBeUndefined();
    expect(allowed.data!.logEntries.edges[0].node.user).toEqual({ email: 'root@example.com', isSuperuser: true });
  });
});
