import { buildSchema, Directive, Mutation, Query, Resolver, type ClassType, type NonEmptyArray } from 'type-graphql';
import { ACCESS_DIRECTIVES, AccessDeclarationError, applyAccessControl, HasPermission, Public } from '../../src/graphql/access';
import { buildGatehouseSchema, RESOLVERS } from '../../src/graphql/schema';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startTestServer } from '../support/server';

@Resolver()
class DeclaredResolver {
  @Query(() => String)
  @Public()
  declared(): string {
    return 'fine';
  }
}

@Resolver()
class UndeclaredQueryResolver {
  @Query(() => String)
  forgotten(): string {
    return 'leaked';
  }
}

@Resolver()
class UndeclaredMutationResolver {
  @Mutation(() => String)
  forgottenMutation(): string {
    return 'leaked';
  }
}

@Resolver()
class UnknownPermissionResolver {
  @Query(() => String)
  @Directive('@hasPermission(permission: "core.fly_tweet")')
  misspelt(): string {
    return 'leaked';
  }
}

@Resolver()
class DoubledResolver {
  @Query(() => String)
  @HasPermission('core.view_tweet')
  @Public()
  doubled(): string {
    return 'leaked';
  }
}

type ResolverClass = NonEmptyArray<ClassType>[number];
const schemaOf = (...resolvers: ResolverClass[]) =>
  buildSchema({ resolvers: resolvers as NonEmptyArray<ResolverClass>, directives: ACCESS_DIRECTIVES, validate: false });

function refusal(fn: () => unknown): AccessDeclarationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AccessDeclarationError) return error;
    throw error;
  }
  throw new Error('applyAccessControl accepted the schema');
}

describe('applyAccessControl (deny by default, checked at start)', () => {
  it('accepts a schema whose every root field has exactly one declaration', async () => {
    const schema = await schemaOf(DeclaredResolver);
    expect(() => applyAccessControl(schema)).not.toThrow();
  });

  it('refuses a query without an access declaration, naming Query.<field>', async () => {
    const refused = refusal(applyAccessControl.bind(null, await schemaOf(DeclaredResolver, UndeclaredQueryResolver)));
    expect(refused.problems).toEqual([expect.stringMatching(/^Query\.forgotten: has no access declaration/)]);
    expect(refused.message).toContain('Query.forgotten');
  });

  it('refuses a mutation without an access declaration, naming Mutation.<field>', async () => {
    const refused = refusal(applyAccessControl.bind(null, await schemaOf(DeclaredResolver, UndeclaredMutationResolver)));
    expect(refused.problems).toEqual([expect.stringMatching(/^Mutation\.forgottenMutation: has no access declaration/)]);
  });

  it('refuses @hasPermission naming a permission the registry does not derive, naming the field and the permission', async () => {
    const refused = refusal(applyAccessControl.bind(null, await schemaOf(DeclaredResolver, UnknownPermissionResolver)));
    expect(refused.problems).toContainEqual(
      expect.stringContaining('Query.misspelt: @hasPermission names "core.fly_tweet", which is not a permission in the model registry'),
    );
  });

  it('refuses a field with two declarations', async () => {
    const refused = refusal(applyAccessControl.bind(null, await schemaOf(DeclaredResolver, DoubledResolver)));
    expect(refused.problems).toEqual([expect.stringMatching(/^Query\.doubled: has 2 access declarations/)]);
  });

  it('names every problem at once', async () => {
    const refused = refusal(
      applyAccessControl.bind(null, await schemaOf(UndeclaredQueryResolver, UnknownPermissionResolver, DoubledResolver)),
    );
    expect([...new Set(refused.problems.map((p) => p.split(':')[0]))].sort()).toEqual([
      'Query.doubled',
      'Query.forgotten',
      'Query.misspelt',
    ]);
  });

  it('accepts the real schema', async () => {
    await expect(buildGatehouseSchema()).resolves.toBeDefined();
  });
});

describe('startGatehouse', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it('refuses to start when a resolver of the service lacks an access declaration, naming the field', async () => {
    // The service's own resolver list, with one undeclared operation slipped in.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
    const resolvers = RESOLVERS as unknown as Function[];
    resolvers.push(UndeclaredQueryResolver);
    try {
      const starting = startTestServer({ db });
      await expect(starting).rejects.toThrow(AccessDeclarationError);
      await expect(starting).rejects.toThrow(/Query\.forgotten: has no access declaration/);
    } finally {
      resolvers.splice(resolvers.indexOf(UndeclaredQueryResolver), 1);
    }
  });
});
