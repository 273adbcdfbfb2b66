import { buildSchema, specifiedDirectives } from 'graphql';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ServedDirectivesDocument,
  TypenameIncludedDocument,
  TypenameInInlineFragmentDocument,
  TypenameSkipFalseDocument,
  TypenameSkipTrueDocument,
  TypenameThroughFragmentDocument,
  UserCountIncludedDocument,
} from '../generated/graphql';
import { startTestServer, type TestServer } from '../support/server';

const SPECIFIED = ['include', 'skip', 'deprecated', 'specifiedBy', 'oneOf'];
const ACCESS = ['hasPermission', 'authenticated', 'public'];

/** Clients (Apollo Client, Relay, urql) put @include and @skip in everyday operations. */
describe('the directives of the served schema', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  const served = async () => {
    const result = await server.graphql(ServedDirectivesDocument);
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

  it('applies @skip(if: false) and @skip(if: true)', async () => {
    expect((await server.graphql(TypenameSkipFalseDocument)).body).toEqual({ data: { __typename: 'Query' } });
    expect((await server.graphql(TypenameSkipTrueDocument)).body).toEqual({ data: {} });
  });

  it('applies @include(if: $v) on a field, and on a fragment spread', async () => {
    expect((await server.graphql(TypenameIncludedDocument, { include: true })).body).toEqual({ data: { __typename: 'Query' } });
    expect((await server.graphql(TypenameIncludedDocument, { include: false })).body).toEqual({ data: {} });
    expect((await server.graphql(TypenameThroughFragmentDocument, { include: true })).body).toEqual({ data: { __typename: 'Query' } });
    expect((await server.graphql(TypenameThroughFragmentDocument, { include: false })).body).toEqual({ data: {} });
  });

  it('applies @skip(if: $v) on an inline fragment', async () => {
    expect((await server.graphql(TypenameInInlineFragmentDocument, { skip: false })).body).toEqual({ data: { __typename: 'Query' } });
    expect((await server.graphql(TypenameInInlineFragmentDocument, { skip: true })).body).toEqual({ data: {} });
  });

  it('skips a guarded field for an anonymous caller instead of refusing it', async () => {
    const skipped = await server.graphql(UserCountIncludedDocument, { include: false });
    expect(skipped.body).toEqual({ data: { me: null } });
    const included = await server.graphql(UserCountIncludedDocument, { include: true });
    expect(included.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });
});
