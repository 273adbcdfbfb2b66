import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import {
  defaultFieldResolver,
  DirectiveLocation,
  GraphQLDirective,
  GraphQLNonNull,
  GraphQLString,
  isObjectType,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import { Directive } from 'type-graphql';
import { checkMessage, errorsIn, SystemCheckError, type CheckMessage } from '../checks';
import { GatehouseError } from '../errors';
import { isPermissionName, type PermissionName } from '../permissions/registry';
import { checkPermissionUse } from '../permissions/without-operation';
import type { GatehouseContext } from './context';

/**
 * The three access declarations. Every root field carries exactly one; object fields may
 * carry `@hasPermission` too. They are printed in the SDL, so Apollo Sandbox and the
 * `permissionCatalog` show what each operation needs.
 */
export const ACCESS_DIRECTIVES = [
  new GraphQLDirective({
    name: 'hasPermission',
    description: 'Only a signed-in user holding this permission (`app_label.codename`) may use the field.',
    locations: [DirectiveLocation.FIELD_DEFINITION],
    args: { permission: { type: new GraphQLNonNull(GraphQLString), description: 'The permission, e.g. core.view_tweet.' } },
  }),
  new GraphQLDirective({
    name: 'authenticated',
    description: 'Any signed-in user may use the field; it needs no permission.',
    locations: [DirectiveLocation.FIELD_DEFINITION],
  }),
  new GraphQLDirective({
    name: 'public',
    description: 'Anyone may use the field, signed in or not.',
    locations: [DirectiveLocation.FIELD_DEFINITION],
  }),
];

/** Requires `permission`; the name is checked against the model registry at compile time. */
export const HasPermission = (permission: PermissionName) => Directive(`@hasPermission(permission: ${JSON.stringify(permission)})`);
/** Requires a signed-in user, no permission. */
export const Authenticated = () => Directive('@authenticated');
/** Open to anyone. */
export const Public = () => Directive('@public');

/** What a field requires, read from its directives. */
export type Access = { kind: 'permission'; permission: PermissionName } | { kind: 'authenticated' } | { kind: 'public' };

/**
 * A schema whose access declarations are missing, doubled or name an unknown permission
 * (`gatehouse.graphql.E001`–`E003`): the service refuses to start, naming each field.
 */
export class AccessDeclarationError extends SystemCheckError {
  /** Each problem as `<coordinate>: <what is wrong>`, without its id. */
  readonly problems: string[];
  constructor(checks: readonly CheckMessage[]) {
    super(checks, "the schema's access declarations are incomplete; the service refuses to start");
    this.name = 'AccessDeclarationError';
    this.problems = checks.map((check) => check.message);
  }
}

function accessOf(
  schema: GraphQLSchema,
  field: Parameters<typeof getDirective>[1],
  coordinate: string,
  problems: CheckMessage[],
): Access | null {
  const found: Access[] = [];
  for (const directive of getDirective(schema, field, 'hasPermission') ?? []) {
    const permission = String(directive.permission);
    if (!isPermissionName(permission)) {
      problems.push(
        checkMessage(
          'gatehouse.graphql.E002',
          `${coordinate}: @hasPermission names "${permission}", which is not a permission in the model registry`,
        ),
      );
      continue;
    }
    found.push({ kind: 'permission', permission });
  }
  if (getDirective(schema, field, 'authenticated')?.length) found.push({ kind: 'authenticated' });
  if (getDirective(schema, field, 'public')?.length) found.push({ kind: 'public' });
  if (found.length > 1)
    problems.push(checkMessage('gatehouse.graphql.E003', `${coordinate}: has ${found.length} access declarations; exactly one is allowed`));
  return found[0] ?? null;
}

/**
 * The system checks of a schema, in the order found:
 * - `gatehouse.graphql.E001` a root field (Query, Mutation, Subscription) without an access declaration;
 * - `gatehouse.graphql.E002` a `@hasPermission` (on any field) naming a permission the registry does not derive;
 * - `gatehouse.graphql.E003` a field with more than one declaration;
 * - `gatehouse.permissions.W001`/`W002` from the permissions the root fields require (see without-operation.ts).
 */
export function checkSchema(schema: GraphQLSchema): CheckMessage[] {
  const found: CheckMessage[] = [];
  const used = new Set<string>();
  const rootTypes = new Set(
    [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(Boolean).map((t) => t!.name),
  );
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      const access = accessOf(schema, field, coordinate, found);
      if (!rootTypes.has(type.name)) continue;
      if (!access)
        found.push(
          checkMessage('gatehouse.graphql.E001', `${coordinate}: has no access declaration (@hasPermission, @authenticated or @public)`),
        );
      else if (access.kind === 'permission') used.add(access.permission);
    }
  }
  return [...found, ...checkPermissionUse(used)];
}

/**
 * Returns `schema` with every access declaration enforced, after checking them all
 * (`checkSchema`): any error — a root field without exactly one declaration, or a
 * `@hasPermission` naming a permission the registry does not derive — throws
 * AccessDeclarationError naming each such field with its check id — deny by default, at start.
 *
 * Enforcement runs before the field's resolver: no session → UNAUTHENTICATED; signed in
 * without the permission → FORBIDDEN naming it. The resolver does not run in either case,
 * so a denial never reveals whether a row exists.
 *
 * `enforce: false` keeps the checks at start but skips enforcement; it exists only for the
 * benchmark that measures what enforcement costs.
 */
export function applyAccessControl(schema: GraphQLSchema, options: { enforce?: boolean } = {}): GraphQLSchema {
  const enforce = options.enforce ?? true;
  const errors = errorsIn(checkSchema(schema));
  if (errors.length) throw new AccessDeclarationError(errors);
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) => {
      const access = accessOf(schema, field, `${typeName}.${fieldName}`, []);
      if (!access || !enforce || access.kind === 'public') return field;
      return { ...field, resolve: guarded(access, field.resolve ?? defaultFieldResolver) };
    },
  });
}

// Only the refusals count for /metrics: the allowed path does not touch the metrics.
const unauthenticated = (context: GatehouseContext, access: Exclude<Access, { kind: 'public' }>) => {
  context.services.metrics?.denied('UNAUTHENTICATED', access.kind === 'permission' ? access.permission : null);
  return new GatehouseError('UNAUTHENTICATED', 'sign in to use this operation');
};
/** FORBIDDEN for a signed-in caller without `permission`, naming it; counted for /metrics when `context` is given. */
export const forbidden = (permission: PermissionName, context?: GatehouseContext) => {
  context?.services.metrics?.denied('FORBIDDEN', permission);
  return new GatehouseError('FORBIDDEN', `you need the permission ${permission}`, { permission });
};

/**
 * `resolve`, run only when the request's user satisfies `access`. Once the user's permissions
 * are known in this request the check is synchronous, so a guarded field on every row of a
 * large page costs a set lookup, not a promise per row.
 */
function guarded(
  access: Exclude<Access, { kind: 'public' }>,
  resolve: GraphQLFieldResolver<unknown, GatehouseContext>,
): GraphQLFieldResolver<unknown, GatehouseContext> {
  return (source, args, context, info) => {
    const user = context.viewer;
    if (!user) throw unauthenticated(context, access);
    if (access.kind === 'authenticated') return resolve(source, args, context, info);
    const known = context.permissions.peek(user);
    if (known) {
      if (!known.has(access.permission)) throw forbidden(access.permission, context);
      return resolve(source, args, context, info);
    }
    return context.permissions.getAllPermissions(user).then((all) => {
      if (!all.has(access.permission)) throw forbidden(access.permission, context);
      return resolve(source, args, context, info);
    });
  };
}

/** The access each root operation requires, read from the schema's own directives, with the operation's description. */
export function accessCatalog(schema: GraphQLSchema): Array<{ coordinate: string; access: Access; description: string | null }> {
  const catalog: Array<{ coordinate: string; access: Access; description: string | null }> = [];
  for (const type of [schema.getQueryType(), schema.getMutationType()]) {
    if (!type) continue;
    for (const field of Object.values(type.getFields())) {
      const access = accessOf(schema, field, `${type.name}.${field.name}`, []);
      if (access) catalog.push({ coordinate: `${type.name}.${field.name}`, access, description: field.description ?? null });
    }
  }
  return catalog;
}
