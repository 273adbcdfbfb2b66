import type { EntityManager } from '@mikro-orm/postgresql';
import { getNamedType, isInputObjectType, type GraphQLSchema } from 'graphql';
import { Language } from '../../src/core/language.entity';
import { Tweet } from '../../src/core/tweet.entity';
import { GroupMappingRule, MatchType } from '../../src/sso/group-mapping-rule.entity';
import { makeGroup, makeUser } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';
import { introspect } from '../support/graphql-client';

/*
 * One meaning of `null` in every update input: an absent field keeps its value, `null` clears a
 * field that can be empty, and `null` for any other field is BAD_USER_INPUT naming it, changing
 * nothing. Every field of every update input (read from the served schema) is tried, so a field
 * added later is covered; an update input without an entry below fails the test.
 */

interface UpdateCase {
  /** The mutation taking the input as `input`, with the object's `id`. */
  mutation: string;
  /** What the test reads back: every field the input can change. */
  selection: string;
  /** A fresh object to change; its id. */
  make(em: EntityManager): Promise<string>;
  /** A valid change of one field, and how it reads back. */
  change: Record<string, unknown>;
  /** The fields `null` clears, and what each reads back as afterwards. */
  clears: Record<string, unknown>;
}

let serial = 0;
const fresh = (prefix: string) => `${prefix}${process.pid % 1000}x${++serial}`;

const CASES: Record<string, UpdateCase> = {
  UpdateTweetInput: {
    mutation: 'updateTweet',
    selection: 'id screenName tweetId whenTweetWasCreated',
    async make(em) {
      const tweet = em.create(Tweet, { screenName: 'nulls', tweetId: '42', whenTweetWasCreated: new Date('2021-11-15T18:00:00Z') });
      await em.flush();
      return tweet.id;
    },
    change: { screenName: 'changed' },
    clears: {},
  },
  UpdateLanguageInput: {
    mutation: 'updateLanguage',
    selection: 'id languageTag language accentOrDialect family',
    async make(em) {
      const language = em.create(Language, {
        languageTag: fresh('nl-'),
        language: 'Dutch',
        accentOrDialect: 'Flemish',
        family: 'Indo-European',
      });
      await em.flush();
      return language.id;
    },
    change: { family: 'Germanic' },
    clears: { language: null, accentOrDialect: null, family: null },
  },
  UpdateGroupInput: {
    mutation: 'updateGroup',
    selection: 'id name',
    make: async (em) => String((await makeGroup(em)).id),
    change: { name: fresh('renamed_') },
    clears: {},
  },
  UpdateUserInput: {
    mutation: 'updateUser',
    selection: 'id username email firstName lastName isActive isStaff isSuperuser',
    async make(em) {
      const user = await makeUser(em);
      em.assign(user, { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' });
      await em.flush();
      return String(user.id);
    },
    change: { firstName: 'Augusta' },
    clears: {},
  },
  UpdateGroupMappingRuleInput: {
    mutation: 'updateGroupMappingRule',
    selection: 'id claim matchType pattern caseSensitive enabled description group { id }',
    async make(em) {
      const group = await makeGroup(em);
      const rule = em.create(GroupMappingRule, {
        group,
        claim: 'roles',
        pattern: fresh('NULLS_'),
        matchType: MatchType.EXACT,
        description: 'kept',
      });
      await em.flush();
      return String(rule.id);
    },
    change: { description: 'changed' },
    clears: { claim: null },
  },
};

describe('null and absent fields in update inputs', () => {
  let server: TestServer;
  let schema: GraphQLSchema;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer();
    schema = await introspect(server.graphql);
    ({ token } = await server.signInAsSuperuser());
  });
  afterAll(() => server.stop());
  const em = () => server.db.orm.em.fork();

  /** Every mutation argument `input` whose type is an update input, by type name. */
  const updateInputs = () =>
    Object.values(schema.getMutationType()!.getFields()).flatMap((field) =>
      field.args
        .filter((arg) => arg.name === 'input' && getNamedType(arg.type).name.startsWith('Update'))
        .map((arg) => ({ mutation: field.name, type: getNamedType(arg.type).name })),
    );

  const update = (c: UpdateCase, id: string, input: Record<string, unknown>) =>
    server.graphql<Record<string, Record<string, unknown>>>(
      `mutation($id: ID!, $input: ${inputTypeOf(c)}!) { ${c.mutation}(id: $id, input: $input) { ${c.selection} } }`,
      { id, input },
      token,
    );
  const inputTypeOf = (c: UpdateCase) => updateInputs().find((u) => u.mutation === c.mutation)!.type;
  const fieldsOf = (type: string) => {
    const input = schema.getType(type);
    if (!isInputObjectType(input)) throw new Error(`${type} is not an input type`);
    return Object.values(input.getFields());
  };

  it('has a case for every update input of the schema, and each states the rule in its description', () => {
    const found = updateInputs();
    expect(found.map((u) => u.type).sort()).toEqual(Object.keys(CASES).sort());
    for (const { mutation, type } of found) {
      expect(CASES[type].mutation).toBe(mutation);
      const description = schema.getType(type)!.description ?? '';
      expect(description).toContain('An absent field keeps its value.');
      expect(description).toMatch(/`null` for any (other )?field is BAD_USER_INPUT naming the field\./);
      for (const field of Object.keys(CASES[type].clears)) expect(description).toContain(`\`${field}\``);
    }
  });

  describe.each(Object.entries(CASES))('%s', (type, c) => {
    it('keeps every absent field: an empty input changes nothing, one field changes only that field', async () => {
      const id = await c.make(em());
      const before = await server.db.snapshot();
      const unchanged = await update(c, id, {});
      expect(unchanged.errors).toBeUndefined();
      expect(await server.db.snapshot()).toEqual(before);
      const original = unchanged.data![c.mutation];
      const changed = await update(c, id, c.change);
      expect(changed.errors).toBeUndefined();
      expect(changed.data![c.mutation]).toEqual({ ...original, ...c.change });
    });

    it('clears with null each field that can be empty, and only that field', async () => {
      for (const [field, cleared] of Object.entries(c.clears)) {
        const id = await c.make(em());
        const original = (await update(c, id, {})).data![c.mutation];
        expect(original[field]).not.toEqual(cleared);
        const result = await update(c, id, { [field]: null });
        expect(result.errors).toBeUndefined();
        expect(result.data![c.mutation]).toEqual({ ...original, [field]: cleared });
      }
    });

    it('refuses null for every other field with BAD_USER_INPUT naming it, and changes nothing', async () => {
      const others = fieldsOf(type).filter((field) => !(field.name in c.clears));
      expect(others.length).toBeGreaterThan(0);
      const id = await c.make(em());
      for (const field of others) {
        const before = await server.db.snapshot();
        const result = await update(c, id, { ...c.change, [field.name]: null });
        expect(result.data).toBeNull();
        expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'BAD_USER_INPUT', field: `input.${field.name}` }]);
        expect(result.errors?.[0].message).toBe(`input.${field.name}: cannot be null; omit it to keep the value`);
        expect(await server.db.snapshot()).toEqual(before);
      }
    });
  });
});
