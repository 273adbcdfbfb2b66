import DataLoader from 'dataloader';
import { LogEntry } from '../audit/log-entry.entity';
import { Language } from '../core/language.entity';
import { Tweet } from '../core/tweet.entity';
import { fromGlobalId, type NodeKey, type NodeType } from '../db/ids';
import { badInput } from '../errors';
import { Group } from '../groups/group.entity';
import { Permission } from '../permissions/permission.entity';
import { modelRef, permissionFor, type ModelRef, type PermissionName } from '../permissions/registry';
import { ProvisioningToken } from '../scim/provisioning-token.entity';
import { provisioningTokenType } from '../scim/provisioning-token.types';
import { listSessions } from '../sessions/sessions.service';
import { sessionInfo } from '../sessions/session.resolver';
import { GroupMappingRule } from '../sso/group-mapping-rule.entity';
import { SsoIdentity } from '../sso/sso-identity.entity';
import { ssoIdentityType } from '../sso/identity.resolver';
import { User } from '../users/user.entity';
import { forbidden } from './access';
import type { GatehouseContext } from './context';

/*
 * Relay's object identification (https://relay.dev/graphql/objectidentification.htm): every type
 * with a database identity implements `Node`, its `id` is a global id (`db/ids.ts` encodes and
 * decodes them), and `node(id:)` / `nodes(ids:)` refetch any of them — each guarded by the view
 * permission of its model, checked before anything is looked up.
 */

/** The most ids one `nodes(ids:)` takes. */
export const MAX_NODES = 100;

/** How one node type is guarded and loaded. */
interface NodeSpec<T extends NodeType> {
  /**
   * The registered model whose view permission a caller needs to see it; null for a type that
   * only its owner sees (a session: only the signed-in user's own, as `mySessions` shows them).
   */
  readonly model: ModelRef | null;
  /** The rows with these keys, in one statement, as the GraphQL type shows them; a missing key is absent. */
  load(ctx: GatehouseContext, keys: readonly NodeKey<T>[]): Promise<ReadonlyArray<{ id: NodeKey<T> }>>;
}

const inKeys = <K>(keys: readonly K[]) => ({ id: { $in: [...keys] } }) as never;

/** Every node type: a type added to NODE_TYPES without a line here does not compile. */
const NODES: { readonly [T in NodeType]: NodeSpec<T> } = {
  User: { model: modelRef('auth', 'user'), load: (ctx, keys) => ctx.em.find(User, inKeys(keys)) },
  Group: { model: modelRef('auth', 'group'), load: (ctx, keys) => ctx.em.find(Group, inKeys(keys)) },
  Permission: { model: modelRef('auth', 'permission'), load: (ctx, keys) => ctx.em.find(Permission, inKeys(keys)) },
  GroupMappingRule: {
    model: modelRef('sso', 'groupmappingrule'),
    load: (ctx, keys) => ctx.em.find(GroupMappingRule, inKeys(keys), { populate: ['group'] }),
  },
  LogEntry: { model: modelRef('admin', 'logentry'), load: (ctx, keys) => ctx.em.find(LogEntry, inKeys(keys), { populate: ['user'] }) },
  Tweet: { model: modelRef('core', 'tweet'), load: (ctx, keys) => ctx.em.find(Tweet, inKeys(keys)) },
  Language: { model: modelRef('core', 'language'), load: (ctx, keys) => ctx.em.find(Language, inKeys(keys)) },
  SsoIdentity: {
    model: modelRef('sso', 'identity'),
    load: async (ctx, keys) => (await ctx.em.find(SsoIdentity, inKeys(keys))).map(ssoIdentityType),
  },
  ProvisioningToken: {
    model: modelRef('sso', 'provisioningtoken'),
    load: async (ctx, keys) => (await ctx.em.find(ProvisioningToken, inKeys(keys), { populate: ['createdBy'] })).map(provisioningTokenType),
  },
  Session: {
    model: null,
    load: async (ctx, keys) =>
      (await listSessions(ctx.em, ctx.user!.id, ctx.services.sessionPolicy, keys)).map((s) => sessionInfo(s, ctx.session?.id)),
  },
};

/** The view permission that guards `type`, or null for an owner-only type. */
export function nodePermission(type: NodeType): PermissionName | null {
  const model = NODES[type].model;
  return model ? permissionFor(model, 'view') : null;
}

/** The type of each object `node`/`nodes` hand out, for `Node`'s resolveType. */
const typeOfNode = new WeakMap<object, NodeType>();

export function nodeTypeOf(value: object): NodeType | undefined {
  return typeOfNode.get(value);
}

/** One DataLoader per node type per request, so that `nodes(ids:)` costs one statement per type. */
const requestLoaders = new WeakMap<GatehouseContext, Map<NodeType, DataLoader<NodeKey, object | null>>>();

function loaderOf(ctx: GatehouseContext, type: NodeType): DataLoader<NodeKey, object | null> {
  let loaders = requestLoaders.get(ctx);
  if (!loaders) requestLoaders.set(ctx, (loaders = new Map()));
  let loader = loaders.get(type);
  if (!loader) {
    const spec = NODES[type] as NodeSpec<NodeType>;
    loader = new DataLoader<NodeKey, object | null>(async (keys) => {
      const rows = new Map<NodeKey, object>((await spec.load(ctx, keys)).map((row) => [row.id, row]));
      return keys.map((key) => rows.get(key) ?? null);
    });
    loaders.set(type, loader);
  }
  return loader;
}

/**
 * The object a decoded global id names, as its GraphQL type shows it: FORBIDDEN (naming the
 * permission) for a caller without its model's view permission, before anything is looked up;
 * null when there is no such object (or, for a session, none of the caller's live ones).
 */
async function loadNode(ctx: GatehouseContext, type: NodeType, key: NodeKey): Promise<object | null> {
  const permission = nodePermission(type);
  if (permission) {
    const user = ctx.user!;
    const held = ctx.permissions.peek(user) ?? (await ctx.permissions.getAllPermissions(user));
    if (!held.has(permission)) throw forbidden(permission);
  }
  const row = await loaderOf(ctx, type).load(key);
  if (row) typeOfNode.set(row, type);
  return row;
}

function decode(value: string, field: string): { type: NodeType; key: NodeKey } {
  const decoded = fromGlobalId(value);
  if (!decoded) throw badInput(field, `${JSON.stringify(value.slice(0, 100))} is not a global id (an object's \`id\`)`);
  return decoded;
}

/** `node(id:)`: BAD_USER_INPUT naming `id` when it is not a global id. */
export function findNode(ctx: GatehouseContext, id: string): Promise<object | null> {
  const { type, key } = decode(id, 'id');
  return loadNode(ctx, type, key);
}

/**
 * `nodes(ids:)`: one answer per id, in order, each guarded on its own (a refused one is null
 * with a FORBIDDEN error at its index); every id must be a global id and at most MAX_NODES.
 */
export function findNodes(ctx: GatehouseContext, ids: readonly string[]): Array<Promise<object | null>> {
  if (ids.length > MAX_NODES) throw badInput('ids', `at most ${MAX_NODES} ids (got ${ids.length})`);
  const decoded = ids.map((id, i) => decode(id, `ids[${i}]`));
  return decoded.map(({ type, key }) => loadNode(ctx, type, key));
}
