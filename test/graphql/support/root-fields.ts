import type { EntityManager } from '@mikro-orm/postgresql';
import { getNamedType, isCompositeType, isNonNullType, type GraphQLField, type GraphQLSchema } from 'graphql';
import { randomBytes, randomUUID } from 'node:crypto';
import { ProvisioningToken } from '../../../src/scim/provisioning-token.entity';
import { accessCatalog, type Access } from '../../../src/graphql/access';
import { toGlobalId } from '../../../src/db/ids';
import { Language } from '../../../src/core/language.entity';
import { Tweet } from '../../../src/core/tweet.entity';
import { makeGroup, makeRule, makeUser } from '../../support/factories';

/*
 * What the schema-wide tests (denial matrix, anonymous access) need to call ANY root field:
 * a sample of valid arguments per field, and a generic document built from the schema. A root
 * field with no sample fails those tests, so a new operation cannot slip past them. Being built
 * at run time, these documents are the strings the GraphQL client accepts besides typed ones.
 */

/** Rows a sample may point at; made fresh for each call, so a delete does not starve the next. */
export interface Fixtures {
  tweetId: string;
  languageId: string;
  userId: string;
  groupId: string;
  ruleId: string;
  provisioningTokenId: string;
}

let serial = 0;
const next = () => `${process.pid % 1000}x${++serial}`;

export async function makeFixtures(em: EntityManager): Promise<Fixtures> {
  const tweet = em.create(Tweet, {
    screenName: 'fixture',
    whenTweetWasCreated: new Date('2021-11-15T18:00:00Z'),
    tweetId: '1460323737035677698',
  });
  const language = em.create(Language, { languageTag: `fx-${next()}` });
  await em.flush();
  const group = await makeGroup(em);
  const user = await makeUser(em);
  const rule = await makeRule(em, group);
  const token = em.create(ProvisioningToken, {
    description: 'fixture',
    issuer: 'https://idp.example.com/',
    tokenHash: randomBytes(32).toString('hex'),
  });
  await em.flush();
  return {
    tweetId: tweet.id,
    languageId: language.id,
    userId: String(user.id),
    groupId: String(group.id),
    ruleId: String(rule.id),
    provisioningTokenId: String(token.id),
  };
}

export type Sample = (fixtures: Fixtures) => Record<string, unknown>;

/**
 * Valid arguments for every root field that is not @public, by schema coordinate. A root field
 * without an entry fails the matrix, so a new operation cannot skip it.
 */
export const SAMPLES: Readonly<Record<string, Sample>> = {
  // core.Tweet and core.Language (generated CRUD)
  'Query.tweets': () => ({ first: 2 }),
  'Query.tweet': (f) => ({ id: f.tweetId }),
  'Mutation.createTweet': () => ({
    input: { screenName: 'matrix', whenTweetWasCreated: '2021-11-15T18:00:00.000Z', tweetId: '1460323737035677698' },
  }),
  'Mutation.updateTweet': (f) => ({ id: f.tweetId, input: { screenName: 'changed' } }),
  'Mutation.deleteTweet': (f) => ({ id: f.tweetId }),
  'Query.languages': () => ({ first: 2 }),
  'Query.language': (f) => ({ id: f.languageId }),
  'Mutation.createLanguage': () => ({ input: { languageTag: `mx-${next()}` } }),
  'Mutation.updateLanguage': (f) => ({ id: f.languageId, input: { family: 'Indo-European' } }),
  'Mutation.deleteLanguage': (f) => ({ id: f.languageId }),
  // admin log, catalogue, explanation, permissions
  'Query.logEntries': () => ({ first: 5, filter: { appLabel: 'core' } }),
  'Query.permissionCatalog': () => ({}),
  'Query.explainPermission': (f) => ({ userId: f.userId, permission: 'core.view_tweet' }),
  'Query.permissions': () => ({ appLabel: 'core' }),
  // sessions
  'Query.mySessions': () => ({}),
  'Mutation.logout': () => ({}),
  'Mutation.revokeSession': () => ({ id: randomUUID() }),
  'Mutation.revokeOtherSessions': () => ({}),
  'Query.logoutUrl': () => ({}),
  // single sign-on mapping rules
  'Query.groupMappingRules': () => ({ first: 5 }),
  'Query.groupMappingRule': (f) => ({ id: f.ruleId }),
  'Query.previewGroupMapping': () => ({ claims: { groups: ['MATRIX_GROUP'] } }),
  'Query.previewGroupMappingRule': (f) => ({ input: { pattern: 'MATRIX_GROUP', groupId: f.groupId } }),
  'Mutation.createGroupMappingRule': (f) => ({ input: { pattern: 'MATRIX_GROUP', groupId: f.groupId } }),
  'Mutation.updateGroupMappingRule': (f) => ({ id: f.ruleId, input: { description: 'changed by the matrix' } }),
  'Mutation.deleteGroupMappingRule': (f) => ({ id: f.ruleId }),
  // single sign-on identities
  'Query.ssoIdentities': (f) => ({ userId: f.userId }),
  'Mutation.linkIdentity': (f) => ({ userId: f.userId, issuer: 'https://idp.example.com', subject: `matrix-${next()}` }),
  'Mutation.unlinkIdentity': () => ({ id: '999999999' }),
  // SCIM provisioning tokens
  'Query.provisioningTokens': () => ({ first: 5 }),
  'Mutation.createProvisioningToken': () => ({ input: { description: 'matrix', issuer: 'https://idp.example.com/' } }),
  'Mutation.revokeProvisioningToken': (f) => ({ id: f.provisioningTokenId }),
  // users
  'Query.users': () => ({ first: 5 }),
  'Query.user': (f) => ({ id: f.userId }),
  'Mutation.createUser': () => ({ input: { username: `matrix_${next()}` } }),
  'Mutation.updateUser': (f) => ({ id: f.userId, input: { firstName: 'Changed' } }),
  'Mutation.deleteUser': (f) => ({ id: f.userId }),
  'Mutation.setUserPassword': (f) => ({ id: f.userId, password: 'a long enough matrix password' }),
  'Mutation.setUserGroups': (f) => ({ id: f.userId, groupIds: [f.groupId] }),
  'Mutation.revokeUserSessions': (f) => ({ id: f.userId }),
  // A permission the caller of the allowed case holds: a non-superuser grants only what it holds.
  'Mutation.setUserPermissions': (f) => ({ id: f.userId, permissions: ['auth.change_user'] }),
  // groups
  'Query.groups': () => ({ first: 5 }),
  'Query.group': (f) => ({ id: f.groupId }),
  'Mutation.createGroup': () => ({ input: { name: `matrix_${next()}` } }),
  'Mutation.updateGroup': (f) => ({ id: f.groupId, input: { name: `renamed_${next()}` } }),
  'Mutation.deleteGroup': (f) => ({ id: f.groupId }),
  'Mutation.setGroupPermissions': (f) => ({ id: f.groupId, permissions: ['auth.change_group'] }),
  // Relay object identification
  'Query.node': (f) => ({ id: toGlobalId('Group', Number(f.groupId)) }),
  'Query.nodes': (f) => ({ ids: [toGlobalId('Group', Number(f.groupId)), toGlobalId('Tweet', f.tweetId)] }),
};

export interface RootField {
  coordinate: string;
  access: Access;
}

/** Every Query and Mutation field with its access declaration, read from the schema's directives. */
export function rootFields(schema: GraphQLSchema): RootField[] {
  return accessCatalog(schema);
}

function fieldAt(schema: GraphQLSchema, coordinate: string): GraphQLField<unknown, unknown> {
  const [typeName, fieldName] = coordinate.split('.');
  const type = typeName === 'Mutation' ? schema.getMutationType() : schema.getQueryType();
  const field = type?.getFields()[fieldName];
  if (!field) throw new Error(`${coordinate} is not in the schema`);
  return field;
}

/**
 * A document calling `coordinate` with `variables` (selecting only `__typename` of an object
 * result), built from the field's own arguments. A sample that passes an argument the field does
 * not have, or lacks a required one, throws naming both.
 */
export function operationFor(schema: GraphQLSchema, coordinate: string, variables: Record<string, unknown>): string {
  const field = fieldAt(schema, coordinate);
  const names = field.args.map((arg) => arg.name);
  for (const name of Object.keys(variables)) {
    if (!names.includes(name))
      throw new Error(
        `the sample for ${coordinate} passes "${name}", which is not one of its arguments (${names.join(', ') || 'none'}): fix SAMPLES in test/graphql/support/root-fields.ts`,
      );
  }
  for (const arg of field.args) {
    if (isNonNullType(arg.type) && arg.defaultValue === undefined && !(arg.name in variables)) {
      throw new Error(
        `the sample for ${coordinate} lacks its required argument "${arg.name}": fix SAMPLES in test/graphql/support/root-fields.ts`,
      );
    }
  }
  const used = field.args.filter((arg) => arg.name in variables);
  const definitions = used.map((arg) => `$${arg.name}: ${arg.type.toString()}`).join(', ');
  const args = used.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  const selection = isCompositeType(getNamedType(field.type)) ? ' { __typename }' : '';
  const operation = coordinate.startsWith('Mutation.') ? 'mutation' : 'query';
  return `${operation} Sample${definitions ? `(${definitions})` : ''} { ${field.name}${args ? `(${args})` : ''}${selection} }`;
}

/** The sample variables for `coordinate`; throws (failing the test) when there is none. */
export function sampleFor(coordinate: string, fixtures: Fixtures): Record<string, unknown> {
  const sample = SAMPLES[coordinate];
  if (!sample)
    throw new Error(
      `no sample arguments for ${coordinate}: add one to SAMPLES in test/graphql/support/root-fields.ts so the denial matrix covers it`,
    );
  return sample(fixtures);
}
