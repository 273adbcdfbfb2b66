import { GraphQLSchema, specifiedDirectives } from 'graphql';
import { buildSchema, type NonEmptyArray } from 'type-graphql';
import { LogEntryResolver } from '../audit/log-entry.resolver';
import { LanguageResolver } from '../core/language.resolver';
import { TweetResolver } from '../core/tweet.resolver';
import { ExplainPermissionResolver } from '../permissions/explain.resolver';
import { PermissionResolver } from '../permissions/permission.resolver';
import { SessionResolver } from '../sessions/session.resolver';
import { SsoIdentityResolver } from '../sso/identity.resolver';
import { ProvisioningTokenResolver } from '../scim/provisioning-token.resolver';
import { GroupMappingRuleResolver } from '../sso/mapping-rule.resolver';
import { MeResolver } from '../users/me.resolver';
import { UserResolver } from '../users/user.resolver';
import { GroupResolver } from '../groups/group.resolver';
import { ACCESS_DIRECTIVES, applyAccessControl } from './access';
import { CatalogResolver } from './catalog.resolver';
import { withGlobalIds } from './global-ids';
import { nodeTypeOf } from './node';
import { NodeResolver } from './node.resolver';
import { ASSUMED_LIST_SIZE } from './cost';
import { MAX_INPUT_STRING_LENGTH } from './input-values';
import { QUERY_LIMITS } from './limits';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../db/keyset';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const RESOLVERS: NonEmptyArray<Function> = [
  MeResolver,
  PermissionResolver,
  SessionResolver,
  GroupMappingRuleResolver,
  SsoIdentityResolver,
  ProvisioningTokenResolver,
  TweetResolver,
  LanguageResolver,
  LogEntryResolver,
  CatalogResolver,
  ExplainPermissionResolver,
  UserResolver,
  GroupResolver,
  NodeResolver,
];

/**
 * The directives the schema declares: the ones the GraphQL specification defines (`@include`,
 * `@skip`, `@deprecated`, `@specifiedBy`, `@oneOf`), which clients put in everyday operations,
 * then Gatehouse's access declarations. `buildSchema({ directives })` replaces the defaults, so
 * both are named here.
 */
export const SCHEMA_DIRECTIVES = [...specifiedDirectives, ...ACCESS_DIRECTIVES];

/**
 * The schema's own description (introspection's `__schema { description }`, the top of the
 * SDL): the rules every operation follows, from the constants that enforce them.
 */
export const SCHEMA_DESCRIPTION = [
  'Gatehouse: users, groups and Django-style permissions, with single sign-on. Every root field declares the access it needs (@hasPermission, @authenticated or @public); `permissionCatalog` lists them.',
  `Query limits, each refused before anything runs with QUERY_TOO_COMPLEX naming the limit (\`extensions.limit\`, \`max\`, \`actual\`): depth ${QUERY_LIMITS.maxDepth}, aliases ${QUERY_LIMITS.maxAliases}, directives ${QUERY_LIMITS.maxDirectives}, tokens ${QUERY_LIMITS.maxTokens}, cost ${QUERY_LIMITS.maxCost}. The cost of a field is 1 plus what is selected under it; a paged field (one with \`first\`) costs 1 plus its page size times its selection, however the page size is given; another list counts as ${ASSUMED_LIST_SIZE} items; introspection is free. A string value is at most ${MAX_INPUT_STRING_LENGTH} characters.`,
  `Paged lists are Relay connections: \`first\` from 1 to ${MAX_PAGE_SIZE} (omitted: ${DEFAULT_PAGE_SIZE}), \`after\` a cursor of the same list. Every list states its order; ties are broken by id.`,
  'Updates: an absent input field keeps its value, `null` clears a field that can be empty and is BAD_USER_INPUT for any other. Removals answer `DeletePayload { deletedId }`.',
].join('\n\n');

/**
 * The schema as declared, before enforcement: what `schema/schema.graphql` prints. Relay's
 * object identification is part of the declaration: the `Node` types and their global ids.
 */
export async function buildDeclaredSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({ resolvers: RESOLVERS, directives: SCHEMA_DIRECTIVES, validate: false });
  // type-graphql builds the root types without a description; the schema's own types are ours to describe.
  schema.getQueryType()!.description = 'What can be read. Each field says the order of what it lists.';
  schema.getMutationType()!.description = 'What can be changed. A refused mutation changes nothing.';
  return withGlobalIds(new GraphQLSchema({ ...schema.toConfig(), description: SCHEMA_DESCRIPTION }), nodeTypeOf);
}

/**
 * The schema the server runs: every access declaration checked (the service refuses to start
 * on a missing or unknown one) and enforced.
 */
export async function buildGatehouseSchema(options: { enforce?: boolean } = {}): Promise<GraphQLSchema> {
  return applyAccessControl(await buildDeclaredSchema(), options);
}
