import { buildSchema, specifiedDirectives } from 'graphql';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from '../support/server';

const SPECIFIED = ['include', 'skip', 'deprecated', 'specifiedBy', 'oneOf'];
const ACCESS = ['hasPermission', 'authenticated', 'public'];

interface DirectiveInfo {
  name: string;
  locations: string[];
  isRepeatable: boolean;
  args: Array<{ name: string; type: { name: string | null; kind: string; ofType: { name: string | null } | null } }>;
}

/** Clients (Apollo Client, Relay, urql) put @include and @skip in everyday operations. */
describe('the directives of the served schema', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  const served = async () => {
    const result = await server.graphql<{ __schema: { directives: DirectiveInfo[] } }>(
      '{ __schema { directives { name locations isRepeatable args { name type { name kind ofType { name } } } } } }',
    );
    expect(result.errors).toBeUndefined();
    return result.data!.__schema.directives;
  };

  it('are the specified ones (graphql-js 16.15: @include @skip @deprecated @specifiedBy @oneOf), then the access declarations', async () => {
    const directives = await served();
    expect(specifiedDirectives.map((d) => d.name)).toEqual(SPECIFIED);
    expect(directives.map((d) => d.name)).toEqual([...SPECIFIED, ...ACCESS]);
    const byName = new Map(directives.map((d) => [d.name, d]));
    for (const name of ['include', 'skip']) {
      expect(byName.get(name)).toEqual({
        name,
        locations: ['FIELD', 'FRAGMENT_SPREAD', 'INLINE_FRAGMENT'],
        isRepeatable: false,
        args: [{ name: 'if', type: { name: null, kind: 'NON_NULL', ofType: { name: 'Boolean' } } }],
      });
    }
    expect(byName.get('deprecated')?.locations).toEqual([
      'FIELD_DEFINITION',
      'ARGUMENT_DEFINITION',
      'INPUT_FIELD_DEFINITION',
      'ENUM_VALUE',
      'DIRECTIVE_DEFINITION',
    ]);
    expect(byName.get('specifiedBy')?.locations).toEqual(['SCALAR']);
    expect(byName.get('oneOf')?.locations).toEqual(['INPUT_OBJECT']);
    expect(byName.get('hasPermission')).toEqual({
      name: 'hasPermission',
      locations: ['FIELD_DEFINITION'],
      isRepeatable: false,
      args: [{ name: 'permission', type: { name: null, kind: 'NON_NULL', ofType: { name: 'String' } } }],
    });
  });

  it('are the ones schema/schema.graphql declares: the access directives printed, the specified ones implied by the specification', async () => {
    const sdl = readFileSync(path.join(__dirname, '../../schema/schema.graphql'), 'utf8');
    for (const name of ACCESS) expect(sdl).toMatch(new RegExp(`^directive @${name}\\b`, 'm'));
    const declared = buildSchema(sdl)
      .getDirectives()
      .map((d) => d.name);
    expect(declared.sort()).toEqual((await served()).map((d) => d.name).sort());
  });

  it.each([
    ['@skip(if: false)', '{ __typename @skip(if: false) }', {}, { __typename: 'Query' }],
    ['@skip(if: true)', '{ __typename @skip(if: true) }', {}, {}],
    ['@include(if: $v) with v = true', 'query($v: Boolean!) { __typename @include(if: $v) }', { v: true }, { __typename: 'Query' }],
    ['@include(if: $v) with v = false', 'query($v: Boolean!) { __typename @include(if: $v) }', { v: false }, {}],
    [
      '@include on a fragment spread',
      'query($v: Boolean!) { ...Name @include(if: $v) } fragment Name on Query { __typename }',
      { v: true },
      { __typename: 'Query' },
    ],
    ['@skip on an inline fragment', 'query($v: Boolean!) { ... @skip(if: $v) { __typename } }', { v: true }, {}],
  ])('applies %s', async (_what, query, variables, data) => {
    const result = await server.graphql(query, variables);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual(data);
  });

  it('skips a guarded field for an anonymous caller instead of refusing it', async () => {
    const skipped = await server.graphql('query($v: Boolean!) { me { permissions } users @include(if: $v) { totalCount } }', { v: false });
    expect(skipped.errors).toBeUndefined();
    expect(skipped.data).toEqual({ me: null });
    const included = await server.graphql('query($v: Boolean!) { users @include(if: $v) { totalCount } }', { v: true });
    expect(included.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});
