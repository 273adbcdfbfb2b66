import { buildSchema, isEnumType, isInputObjectType, isInterfaceType, isObjectType, type GraphQLSchema } from 'graphql';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../src/db/keyset';
import { QUERY_LIMITS } from '../../src/graphql/limits';
import { startTestServer, type TestServer } from '../support/server';
import { introspect } from '../support/graphql-client';

/*
 * The conventions of the API surface, read from the served schema (introspection over HTTP), so
 * that a type, field, argument or mutation added later is held to them without editing this file.
 */

/** Every schema element without a description, by schema coordinate (`Type.field(arg:)`). */
export function undocumented(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  const blank = (description: string | null | undefined) => !description?.trim();
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    if (blank(type.description)) missing.push(type.name);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (blank(field.description)) missing.push(`${type.name}.${field.name}`);
        for (const arg of field.args) if (blank(arg.description)) missing.push(`${type.name}.${field.name}(${arg.name}:)`);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) if (blank(field.description)) missing.push(`${type.name}.${field.name}`);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) if (blank(value.description)) missing.push(`${type.name}.${value.name}`);
    }
  }
  for (const directive of schema.getDirectives()) {
    if (blank(directive.description)) missing.push(`@${directive.name}`);
    for (const arg of directive.args) if (blank(arg.description)) missing.push(`@${directive.name}(${arg.name}:)`);
  }
  return missing;
}

describe('the API surface', () => {
  let server: TestServer;
  let schema: GraphQLSchema;
  beforeAll(async () => {
    server = await startTestServer();
    schema = await introspect(server.graphql, null, { schemaDescription: true });
  });
  afterAll(() => server.stop());

  describe('descriptions', () => {
    it('describes every type, field, argument, input field, enum value and directive', () => {
      expect(undocumented(schema)).toEqual([]);
    });

    it('finds what is undocumented: a bare field, argument, input field and enum value each fail', () => {
      const sample = buildSchema(`
        "Q"
        type Query {
          "f"
          f(a: Int): E
          g(i: I): Int
        }
        "E"
        enum E {
          "x"
          X
          Y
        }
        "I"
        input I {
          "d"
          d: Int
          e: Int
        }
      `);
      expect(undocumented(sample)).toEqual(['Query.f(a:)', 'Query.g', 'Query.g(i:)', 'E.Y', 'I.e']);
    });

    it('states the query limits and the page sizes in the schema description, from the constants that enforce them', () => {
      const description = schema.description ?? '';
      for (const [name, max] of Object.entries({
        depth: QUERY_LIMITS.maxDepth,
        aliases: QUERY_LIMITS.maxAliases,
        directives: QUERY_LIMITS.maxDirectives,
        tokens: QUERY_LIMITS.maxTokens,
        cost: QUERY_LIMITS.maxCost,
      })) {
        expect(description).toContain(`${name} ${max}`);
      }
      expect(description).toContain('QUERY_TOO_COMPLEX');
      expect(description).toContain(`\`first\` from 1 to ${MAX_PAGE_SIZE} (omitted: ${DEFAULT_PAGE_SIZE})`);
    });

    it('gives the range of every `first` argument', () => {
      const firsts = Object.values(schema.getTypeMap())
        .flatMap((type) => (isObjectType(type) && !type.name.startsWith('__') ? Object.values(type.getFields()) : []))
        .flatMap((field) => field.args)
        .filter((arg) => arg.name === 'first');
      expect(firsts.length).toBeGreaterThan(5);
      for (const arg of firsts) expect(arg.description).toContain(`1 to ${MAX_PAGE_SIZE}; omitted: ${DEFAULT_PAGE_SIZE}`);
    });
  });

  describe('removals', () => {
    // A mutation whose name says it removes, and what it answers. One that removes one object by
    // its id answers DeletePayload; the others are listed one by one, with why.
    const ANSWERS_OTHERWISE: Record<string, string> = {
      // Revoking keeps the token (listed, revoked): it answers the token, as every change does.
      revokeProvisioningToken: 'ProvisioningToken!',
      // Bulk: every session of a user (by the user's id), every other session of the caller.
      // No one id was removed: they answer how many sessions ended.
      revokeUserSessions: 'Int!',
      revokeOtherSessions: 'Int!',
    };
    const REMOVES = /^(delete|remove|unlink|revoke)[A-Z]/;

    it('answer DeletePayload! { deletedId: ID! } when they remove one object by its id; the others are listed with why', () => {
      const removals = Object.values(schema.getMutationType()!.getFields()).filter((field) => REMOVES.test(field.name));
      expect(removals.map((field) => field.name)).toEqual(
        expect.arrayContaining([
          'deleteUser',
          'deleteGroup',
          'deleteGroupMappingRule',
          'deleteTweet',
          'deleteLanguage',
          'unlinkIdentity',
          'revokeSession',
          ...Object.keys(ANSWERS_OTHERWISE),
        ]),
      );
      for (const field of removals) {
        expect([field.name, String(field.type)]).toEqual([field.name, ANSWERS_OTHERWISE[field.name] ?? 'DeletePayload!']);
        if (!(field.name in ANSWERS_OTHERWISE))
          expect([field.name, field.args.map((arg) => `${arg.name}: ${String(arg.type)}`)]).toEqual([field.name, ['id: ID!']]);
      }
      const payload = schema.getType('DeletePayload');
      expect(isObjectType(payload) && Object.values(payload.getFields()).map((f) => `${f.name}: ${String(f.type)}`)).toEqual([
        'deletedId: ID!',
      ]);
    });
  });
});
