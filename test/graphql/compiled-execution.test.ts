import {
  execute,
  getOperationAST,
  GraphQLEnumType,
  GraphQLError,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
  type ExecutionResult,
} from 'graphql';
import { executeCompiled } from '../../src/graphql/compiled-execution';

/**
 * Operations run compiled by graphql-jit (the whole suite, the denial matrix included, goes
 * through it over HTTP); these pin down where graphql-jit on its own would answer differently
 * from graphql-js, on a schema small enough to show each case.
 */
describe('compiled execution', () => {
  const Speed = new GraphQLEnumType({ name: 'Speed', values: { SLOW: { value: 1 }, FAST: { value: 2 } } });
  const Options = new GraphQLInputObjectType({
    name: 'Options',
    fields: {
      speed: { type: new GraphQLNonNull(Speed), defaultValue: 1 },
      count: { type: new GraphQLNonNull(GraphQLInt), defaultValue: 3 },
      label: { type: GraphQLString },
    },
  });
  class Refusal extends Error {
    readonly extensions = { code: 'FORBIDDEN' };
  }
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: {
        echo: {
          type: GraphQLString,
          args: { options: { type: new GraphQLNonNull(Options) }, speeds: { type: new GraphQLList(Speed) } },
          resolve: (_root, args) => JSON.stringify(args),
        },
        refused: {
          type: new GraphQLList(GraphQLString),
          resolve: () => {
            throw new Refusal('you need the permission core.view_tweet');
          },
        },
      },
    }),
  });

  const run = (query: string, variables?: Record<string, unknown>) => {
    const document = parse(query);
    return executeCompiled(schema, document, getOperationAST(document), undefined, variables, {}) as Promise<ExecutionResult>;
  };
  const interpreted = (query: string, variables?: Record<string, unknown>) =>
    execute({ schema, document: parse(query), variableValues: variables, contextValue: {} }) as ExecutionResult;

  it('applies the defaults of required input fields left out of a variable, as graphql-js does', async () => {
    const query = 'query($o: Options!) { echo(options: $o) }';
    const result = await run(query, { o: { label: 'x' } });
    expect(result.errors).toBeUndefined();
    expect(JSON.parse(String(result.data!.echo))).toEqual({ options: { speed: 1, count: 3, label: 'x' } });
    expect(result.data).toEqual(interpreted(query, { o: { label: 'x' } }).data);
  });

  it('hands resolvers the internal values of enums given in variables, lists included', async () => {
    const query = 'query($o: Options!, $s: [Speed]) { echo(options: $o, speeds: $s) }';
    const variables = { o: { speed: 'FAST', count: 5 }, s: ['SLOW', 'FAST'] };
    const result = await run(query, variables);
    expect(JSON.parse(String(result.data!.echo))).toEqual({ options: { speed: 2, count: 5 }, speeds: [1, 2] });
    expect(result.data).toEqual(interpreted(query, variables).data);
  });

  it('refuses a variable of the wrong type with graphql-js’s error and no data', async () => {
    const query = 'query($o: Options!) { echo(options: $o) }';
    const result = await run(query, { o: { count: 'three' } });
    expect(result.data).toBeUndefined();
    expect(result.errors!.map((e) => e.toJSON())).toEqual(interpreted(query, { o: { count: 'three' } }).errors!.map((e) => e.toJSON()));
  });

  it('reports a resolver’s error as graphql-js does: a GraphQLError with its message, location, path, extensions and the error itself', async () => {
    const result = await run('{ refused }');
    const [error] = result.errors!;
    expect(error).toBeInstanceOf(GraphQLError);
    expect(error.constructor).toBe(GraphQLError);
    expect(error.originalError).toBeInstanceOf(Refusal);
    expect(error.toJSON()).toEqual(interpreted('{ refused }').errors![0].toJSON());
    expect(result.data).toEqual({ refused: null });
  });

  it('answers an operation name the document does not hold as graphql-js does', async () => {
    const document = parse('query A { refused }');
    const result = (await executeCompiled(schema, document, null, 'B', undefined, {})) as ExecutionResult;
    expect(result.errors!.map((e) => e.message)).toEqual(['Unknown operation named "B".']);
  });
});
