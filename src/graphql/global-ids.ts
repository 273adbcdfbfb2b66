import { MapperKind, mapSchema } from '@graphql-tools/utils';
import {
  defaultFieldResolver,
  GraphQLInterfaceType,
  GraphQLObjectType,
  isInterfaceType,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import { Extensions } from 'type-graphql';
import { isNodeType, toGlobalId, type NodeType } from '../db/ids';

/*
 * Global ids on the way out: the schema hands out every object's primary key as its global id
 * (`db/ids.ts`), in one place, so that no resolver encodes one by hand. `node.ts` reads them back
 * for `node(id:)` and `nodes(ids:)`; the other arguments read them with `nodeKey`.
 */

/**
 * Marks an ID field (or a mutation's ID answer) that holds the primary key of a `type` object:
 * the schema hands it out as that object's global id.
 */
export const GlobalIdOf = (type: NodeType) => Extensions({ globalIdOf: type });

function encoding(type: NodeType, resolve: GraphQLFieldResolver<unknown, unknown>): GraphQLFieldResolver<unknown, unknown> {
  const encode = (value: unknown) => (value === null || value === undefined ? value : toGlobalId(type, value as string | number));
  return (source, args, context, info) => {
    const value: unknown = resolve(source, args, context, info);
    return value instanceof Promise ? value.then(encode) : encode(value);
  };
}

/**
 * The schema with Relay's object identification: every type of NODE_TYPES implements `Node`
 * (declared by `node.resolver.ts`) and its `id` is the global id, as is every field marked
 * `GlobalIdOf`; `nodeTypeOf` names the type of an object `node`/`nodes` found. Synchronous resolvers stay synchronous (a page of 500 users encodes 500 ids
 * without a promise).
 */
export function withGlobalIds(schema: GraphQLSchema, nodeTypeOf: (value: object) => NodeType | undefined): GraphQLSchema {
  const node = schema.getType('Node');
  if (!isInterfaceType(node)) throw new Error('the schema has no Node interface: is NodeResolver in RESOLVERS?');
  return mapSchema(schema, {
    // Resolved synchronously: graphql-jit (compiled-execution.ts) takes resolveType's answer as it
    // comes, and type-graphql's own wrapper answers a promise.
    [MapperKind.INTERFACE_TYPE]: (type) =>
      type.name === 'Node' ? new GraphQLInterfaceType({ ...type.toConfig(), resolveType: (value: object) => nodeTypeOf(value) }) : type,
    [MapperKind.OBJECT_TYPE]: (type) => {
      if (!isNodeType(type.name)) return type;
      const config = type.toConfig();
      return new GraphQLObjectType({ ...config, interfaces: [...config.interfaces, node] });
    },
    [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) => {
      const marked = field.extensions?.globalIdOf as NodeType | undefined;
      const type = fieldName === 'id' && isNodeType(typeName) ? typeName : marked;
      if (!type) return field;
      return { ...field, resolve: encoding(type, field.resolve ?? defaultFieldResolver) };
    },
  });
}
