import { specifiedDirectives, type GraphQLSchema } from 'graphql';
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
import { NodeResolver } from './node.resolver';

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
 * The schema as declared, before enforcement: what `schema/schema.graphql` prints. Relay's
 * object identification is part of the declaration: the `Node` types and their global ids.
 */
export async function buildDeclaredSchema(): Promise<GraphQLSchema> {
  return withGlobalIds(await buildSchema({ resolvers: RESOLVERS, directives: SCHEMA_DIRECTIVES, validate: false }));
}

/**
 * The schema the server runs: every access declaration checked (the service refuses to start
 * on a missing or unknown one) and enforced.
 */
export async function buildGatehouseSchema(options: { enforce?: boolean } = {}): Promise<GraphQLSchema> {
  return applyAccessControl(await buildDeclaredSchema(), options);
}
