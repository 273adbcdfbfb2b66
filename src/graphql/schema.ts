import type { GraphQLSchema } from 'graphql';
import { buildSchema, type NonEmptyArray } from 'type-graphql';
import { LogEntryResolver } from '../audit/log-entry.resolver';
import { LanguageResolver } from '../core/language.resolver';
import { TweetResolver } from '../core/tweet.resolver';
import { ExplainPermissionResolver } from '../permissions/explain.resolver';
import { PermissionResolver } from '../permissions/permission.resolver';
import { SessionResolver } from '../sessions/session.resolver';
import { GroupMappingRuleResolver } from '../sso/mapping-rule.resolver';
import { MeResolver } from '../users/me.resolver';
import { UserResolver } from '../users/user.resolver';
import { GroupResolver } from '../groups/group.resolver';
import { ACCESS_DIRECTIVES, applyAccessControl } from './access';
import { CatalogResolver } from './catalog.resolver';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const RESOLVERS: NonEmptyArray<Function> = [
  MeResolver,
  PermissionResolver,
  SessionResolver,
  GroupMappingRuleResolver,
  TweetResolver,
  LanguageResolver,
  LogEntryResolver,
  CatalogResolver,
  ExplainPermissionResolver,
  UserResolver,
  GroupResolver,
];

/** The schema as declared, before enforcement: what `schema/schema.graphql` prints. */
export async function buildDeclaredSchema(): Promise<GraphQLSchema> {
  return buildSchema({ resolvers: RESOLVERS, directives: ACCESS_DIRECTIVES, validate: false });
}

/**
 * The schema the server runs: every access declaration checked (the service refuses to start
 * on a missing or unknown one) and enforced.
 */
export async function buildGatehouseSchema(options: { enforce?: boolean } = {}): Promise<GraphQLSchema> {
  return applyAccessControl(await buildDeclaredSchema(), options);
}
