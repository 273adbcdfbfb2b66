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
    expect(refused.checks.map((check) => check.id)).toEqual(['gatehouse.graphql.E001']);
    expect(refused.message).toContain('[gatehouse.graphql.E001] Query.forgotten: has no access declaration');
  });

  it('refuses a mutation without an access declaration, naming Mutation.<field>', async () => {
    const refused = refusal(applyAccessControl.bind(null, await schemaOf(DeclaredResolver, UndeclaredMutationResolver)));
    expect(refused.problems).toEqual([expect.stringMatching(/^Mutation\.forgottenMutation: has no access declaration/)]);
    expect(refused.checks.map((check) => check.id)).toEqual(['gatehouse.graphql.E001']);
  });

  it('refuses @hasPermission naming a permission the registry does not derive, naming the field and the permission', async () => {
    const refused = refusal(applyAccessControl.bind(null, await schemaOf(DeclaredResolver, UnknownPermissionResolver)));
    expect(refused.problems).toContainEqual(
      expect.stringContaining('Query.misspelt: @hasPermission names "core.fly_tweet", which is not a permission in the model registry'),
    );
    expect(refused.checks.map((check) => check.id)).toContain('gatehouse.graphql.E002');
    expect(refused.message).toContain('[gatehouse.graphql.E002] Query.misspelt: @hasPermission names "core.fly_tweet"');
  });

  it('refuses a field with two declarations', async () => {
    const refused = refusal(applyAccessControl.bind(null, await schemaOf(DeclaredResolver, DoubledResolver)));
    expect(refused.problems).toEqual([expect.stringMatching(/^Query\.doubled: has 2 access declarations/)]);
    expect(refused.checks.map((check) => check.id)).toEqual(['gatehouse.graphql.E003']);
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

  /** Runs `fn` with `extra` slipped into the service's own resolver list. */
  async function withResolver(extra: ResolverClass, fn: () => Promise<void>): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
    const resolvers = RESOLVERS as unknown as Function[];
    resolvers.push(extra);
    try {
      await fn();
    } finally {
      resolvers.splice(resolvers.indexOf(extra), 1);
    }
  }

  it('refuses to start when a resolver of the service lacks an access declaration, naming the field', async () => {
    await withResolver(UndeclaredQueryResolver, async () => {
      const starting = startTestServer({ db });
      await expect(starting).rejects.toThrow(AccessDeclarationError);
      await expect(starting).rejects.toThrow(/Query\.forgotten: has no access declaration/);
      await expect(starting).rejects.toThrow(/\[gatehouse\.graphql\.E001\] Query\.forgotten: has no access declaration/);
    });
  });

  it.each([
    ['gatehouse.graphql.E002', UnknownPermissionResolver, 'Query.misspelt: @hasPermission names "core.fly_tweet"'],
    ['gatehouse.graphql.E003', DoubledResolver, 'Query.doubled: has 2 access declarations; exactly one is allowed'],
  ])('refuses to start on %s, naming the id and the field', async (id, resolver, problem) => {
    await withResolver(resolver, async () => {
      const starting = startTestServer({ db });
      await expect(starting).rejects.toThrow(AccessDeclarationError);
      await expect(starting).rejects.toThrow(`[${id}] ${problem}`);
    });
  });
});
