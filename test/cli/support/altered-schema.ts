import 'reflect-metadata';
import path from 'node:path';
import { Query, Resolver } from 'type-graphql';

// The compiled modules the command will load (see altered-schema.cjs), not their sources.
const build = process.env.GATEHOUSE_BUILD_DIR!;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LanguageResolver } = require(
  path.join(build, 'src/core/language.resolver.js'),
) as typeof import('../../../src/core/language.resolver');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { RESOLVERS } = require(path.join(build, 'src/graphql/schema.js')) as typeof import('../../../src/graphql/schema');

/*
 * The service's resolvers as a careless change could leave them, for the `gatehouse` process
 * that altered-schema.cjs is preloaded into: the languages' operations are gone (so the four
 * core.*_language permissions have none), and with ALTERED_SCHEMA_UNDECLARED=yes a query without
 * an access declaration is added.
 */
@Resolver()
class UndeclaredQueryResolver {
  @Query(() => String)
  forgotten(): string {
    return 'leaked';
  }
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
const resolvers = RESOLVERS as unknown as Function[];
resolvers.splice(resolvers.indexOf(LanguageResolver), 1);
if (process.env.ALTERED_SCHEMA_UNDECLARED === 'yes') resolvers.push(UndeclaredQueryResolver);
