import {
  getNamedType,
  isAbstractType,
  isInputObjectType,
  isLeafType,
  isNonNullType,
  isObjectType,
  parse,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { operationCost } from '../../../src/graphql/cost';
import { QUERY_LIMITS } from '../../../src/graphql/limits';

/*
 * "Every field answers", generated from the schema the server serves: every path from a root
 * query field to an object type (through lists, connections, single lookups and nested fields,
 * never entering a type twice on one path, within the depth limit) becomes one operation that
 * selects every scalar and enum field of the type at its end. A field or type added later is
 * walked without editing anything here; an argument the walk must give is filled from the small
 * tables below, and a required argument they cannot fill fails the test, naming it. The
 * documents are built at run time from introspection, so they are strings.
 */

/** One field of a path: `parent.field`, entering `target` (through `... on target` when the field's type is abstract). */
export interface Step {
  parent: GraphQLObjectType;
  field: GraphQLField<unknown, unknown>;
  target: GraphQLObjectType;
  abstract: boolean;
}

/** A path from the query root to an object type, whose scalar and enum fields it selects. */
export interface FieldPath {
  root: GraphQLObjectType;
  steps: Step[];
  target: GraphQLObjectType;
}

/** `Query.users.edges.node`, `Query.node<Tweet>`: how a path is named in messages and counts. */
export function pathName(path: FieldPath): string {
  return [path.root.name, ...path.steps.map((step) => (step.abstract ? `${step.field.name}<${step.target.name}>` : step.field.name))].join(
    '.',
  );
}

/** The scalar and enum fields of `type` (what a path selects at its end). */
export function leafFields(type: GraphQLObjectType): GraphQLField<unknown, unknown>[] {
  return Object.values(type.getFields()).filter((field) => isLeafType(getNamedType(field.type)));
}

/**
 * Every path from the query root to an object type, in the order of the schema's fields, with
 * the paths too deep for the depth limit set apart (no client can send them).
 */
export function fieldPaths(schema: GraphQLSchema): { paths: FieldPath[]; tooDeep: string[] } {
  const root = schema.getQueryType();
  if (!root) throw new Error('the schema has no query type');
  const paths: FieldPath[] = [{ root, steps: [], target: root }];
  const tooDeep: string[] = [];
  const walk = (type: GraphQLObjectType, steps: Step[], seen: ReadonlySet<string>) => {
    for (const field of Object.values(type.getFields())) {
      const named = getNamedType(field.type);
      if (isLeafType(named)) continue;
      const abstract = isAbstractType(named);
      const targets = abstract ? schema.getPossibleTypes(named) : isObjectType(named) ? [named] : [];
      for (const target of targets) {
        if (seen.has(target.name)) continue;
        const path = { root, steps: [...steps, { parent: type, field, target, abstract }], target };
        // The depth of a path's document: one level per step and one for the selected leaves.
        if (path.steps.length + 1 > QUERY_LIMITS.maxDepth) {
          tooDeep.push(pathName(path));
          continue;
        }
        paths.push(path);
        walk(target, path.steps, new Set([...seen, target.name]));
      }
    }
  };
  walk(root, [], new Set([root.name]));
  return { paths, tooDeep };
}

/** What the tables fill arguments from: rows made for the test, and ids seen in answers. */
export interface Fixtures {
  /** An id per object type, by GraphQL type name: the rows made for the test first, then the first seen in an answer. */
  ids: Map<string, string>;
  /** A permission the looked-up user holds through groups, directly and through a single sign-on rule. */
  permission: string;
  /** ID-token claims that the enabled mapping rules match. */
  claims: Record<string, unknown>;
  /** A change of an existing mapping rule that moves a signed-in single sign-on user from one group to another. */
  proposedRule: Record<string, unknown>;
}

/** Where an argument is being filled: the field, the type the step enters, the test's rows. */
interface ArgumentSite {
  field: GraphQLField<unknown, unknown>;
  arg: GraphQLArgument;
  target: GraphQLObjectType;
  fixtures: Fixtures;
}

const idOf = (fixtures: Fixtures, typeName: string) => fixtures.ids.get(typeName);

/** Required arguments by name. `id` looks up the type the step enters; `<type>Id` that type. */
const BY_NAME: Record<string, (site: ArgumentSite) => unknown> = {
  id: ({ target, fixtures }) => idOf(fixtures, target.name),
  ids: ({ target, fixtures }) => (idOf(fixtures, target.name) ? [idOf(fixtures, target.name)] : undefined),
  permission: ({ fixtures }) => fixtures.permission,
  claims: ({ fixtures }) => fixtures.claims,
};

/** Required arguments by input type, where a name says too little. */
const BY_TYPE: Record<string, (site: ArgumentSite) => unknown> = {
  ProposedGroupMappingRuleInput: ({ fixtures }) => fixtures.proposedRule,
};

/** The value of a required argument, or an error naming it. */
function requiredArgument(site: ArgumentSite): unknown {
  const typeName = getNamedType(site.arg.type).name;
  const byType = BY_TYPE[typeName];
  if (byType) return byType(site);
  const byName = BY_NAME[site.arg.name];
  if (byName) return byName(site);
  const reference = /^(\w+)Id$/.exec(site.arg.name);
  if (reference && typeName === 'ID') return idOf(site.fixtures, reference[1][0].toUpperCase() + reference[1].slice(1));
  if (isInputObjectType(getNamedType(site.arg.type)))
    throw new Error(`no value for the input ${typeName} of ${site.field.name}: add one to BY_TYPE in test/graphql/support/every-field.ts`);
  return undefined;
}

/** A document for `path`, every page `pageSize` long, and its variables. */
export function documentFor(path: FieldPath, fixtures: Fixtures, pageSize: number): { query: string; variables: Record<string, unknown> } {
  const definitions: string[] = [];
  const variables: Record<string, unknown> = {};
  const argumentsOf = (field: GraphQLField<unknown, unknown>, target: GraphQLObjectType, coordinate: string) => {
    const given: string[] = [];
    for (const arg of field.args) {
      let value: unknown;
      if (arg.name === 'first' && getNamedType(arg.type).name === 'Int') value = pageSize;
      else if (isNonNullType(arg.type) && arg.defaultValue === undefined) {
        value = requiredArgument({ field, arg, target, fixtures });
        if (value === undefined)
          throw new Error(
            `cannot fill the required argument ${arg.name}: ${arg.type.toString()} of ${coordinate} (path ${pathName(path)}): ` +
              `give it a value in BY_NAME or BY_TYPE of test/graphql/support/every-field.ts, or make the test create a ${target.name}`,
          );
      } else continue;
      const variable = `v${definitions.length}`;
      definitions.push(`$${variable}: ${arg.type.toString()}`);
      variables[variable] = value;
      given.push(`${arg.name}: $${variable}`);
    }
    return given.length ? `(${given.join(', ')})` : '';
  };
  const select = (index: number): string => {
    if (index === path.steps.length) {
      const type = path.target;
      return ['__typename', ...leafFields(type).map((field) => field.name + argumentsOf(field, type, `${type.name}.${field.name}`))].join(
        ' ',
      );
    }
    const { parent, field, target, abstract } = path.steps[index];
    const inner = select(index + 1);
    // An abstract step names its type at its own level: `objectsAt` follows only the objects of the step's type.
    return `${field.name}${argumentsOf(field, target, `${parent.name}.${field.name}`)} { ${abstract ? `__typename ... on ${target.name} { ${inner} }` : inner} }`;
  };
  const selection = select(0);
  return { query: `query EveryField${definitions.length ? `(${definitions.join(', ')})` : ''} { ${selection} }`, variables };
}

/**
 * The largest page size from 50 (the default page) down at which the document of `path` stays
 * within the cost limit (the server's own estimate), so that pages are as full as a client may ask.
 */
export function affordableDocument(
  schema: GraphQLSchema,
  path: FieldPath,
  fixtures: Fixtures,
): { query: string; variables: Record<string, unknown> } {
  for (let pageSize = 50; pageSize >= 1; pageSize--) {
    const document = documentFor(path, fixtures, pageSize);
    const cost = operationCost({ schema, document: parse(document.query), variables: document.variables }, QUERY_LIMITS.maxCost);
    if (typeof cost === 'number' && cost <= QUERY_LIMITS.maxCost) return document;
  }
  throw new Error(`the document of ${pathName(path)} exceeds the cost limit even with pages of 1`);
}

/** The objects an answer holds at the end of `path` (lists flattened, nulls skipped). */
export function objectsAt(data: unknown, path: FieldPath): Array<Record<string, unknown>> {
  let level: unknown[] = [data];
  for (const step of path.steps) {
    const next: unknown[] = [];
    for (const value of level) {
      const child = (value as Record<string, unknown>)[step.field.name];
      for (const item of Array.isArray(child) ? child : [child]) {
        if (item === null || item === undefined) continue;
        if (step.abstract && (item as { __typename?: string }).__typename !== step.target.name) continue;
        next.push(item);
      }
    }
    level = next;
  }
  return level as Array<Record<string, unknown>>;
}
