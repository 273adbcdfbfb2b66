import type { EntityManager } from '@mikro-orm/postgresql';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../config/env';
import type { Logger } from '../config/logger';
import type { GatehouseMetrics } from '../metrics/metrics';
import { GroupLoaders } from '../groups/groups.loaders';
import { PermissionBackend } from '../permissions/has-perm';
import { PermissionIdentityMap } from '../permissions/permissions.loaders';
import type { Session } from '../sessions/session.entity';
import type { ResolvedSession, SessionPolicy } from '../sessions/sessions.service';
import type { SsoService } from '../sso/sso.service';
import type { User } from '../users/user.entity';
import { UserLoaders } from '../users/users.loaders';

/** Long-lived collaborators, built once at start and shared by every request. */
export interface GatehouseServices {
  readonly config: Config;
  readonly logger: Logger;
  readonly sessionPolicy: SessionPolicy;
  /** Counts failed password sign-ins per account, across instances. */
  readonly loginThrottle: RateLimiterAbstract;
  /** Single sign-on; null when no identity provider is configured. Optional so tests may omit it. */
  readonly sso?: SsoService | null;
  /** What `/metrics` shows; absent when metrics are off (neither METRICS_TOKEN nor METRICS_PORT). */
  readonly metrics?: GatehouseMetrics;
}

/** What the transport lets a resolver do, without the resolver knowing it is HTTP. */
export interface RequestPort {
  readonly ipAddress: string;
  readonly userAgent: string;
  /** The session token the request carries (cookie or bearer), valid or not; null when none. A sign-in ends that session. */
  readonly sessionToken: string | null;
  /** Hands a new session token to a browser (cookie). */
  setSessionToken(token: string): void;
  clearSessionToken(): void;
}

/**
 * Everything a resolver may use, built fresh for each request: a forked EntityManager (its
 * identity map lives as long as the request) and a PermissionBackend whose cache dies with it.
 */
export interface GatehouseContext {
  readonly em: EntityManager;
  /** The request's live session; null when it carries none or an invalid one. */
  readonly session: Session | null;
  /**
   * The signed-in, active user; null when the request has no valid session. Managed by `em`
   * (mapped on first read): what services that write are given as the actor.
   */
  readonly user: User | null;
  /**
   * The same user for reading and access checks, without mapping it into `em` first: `user`
   * itself once something has read it (so a change a write made to it mid-operation is seen),
   * else a read-only snapshot of the row the session was resolved with. Never persist it.
   */
  readonly viewer: User | null;
  readonly permissions: PermissionBackend;
  /** Batched, per-request loading of users' groups and permissions and of groups' permissions and members. */
  readonly loaders: Loaders;
  readonly services: GatehouseServices;
  readonly request: RequestPort;
}

/**
 * The request's loaders: those of each domain, sharing one identity map of permissions, so
 * that what one loads (a user's memberships bring their groups' permissions) the other reads.
 */
export interface Loaders {
  readonly users: UserLoaders;
  readonly groups: GroupLoaders;
  /** Forgets everything loaded (after a mutation changed users or groups). */
  clear(): void;
}

export function createLoaders(em: EntityManager): Loaders {
  const permissions = new PermissionIdentityMap();
  const groups = new GroupLoaders(em, permissions);
  const users = new UserLoaders(em, groups, permissions);
  return {
    users,
    groups,
    clear() {
      users.clear();
      groups.clear();
    },
  };
}

/**
 * `user` defaults to the session's; a request authenticated by a provider-issued access token
 * (no session) passes its user explicitly. The user's permissions, loaded with the session
 * (`resolveSessionWithPermissions`) or with the user (`grantedPermissions`), spare the request that query. The session and its
 * user are mapped into `em`, and the loaders built, only when first read.
 */
export function createContext(args: {
  em: EntityManager;
  session: ResolvedSession | null;
  services: GatehouseServices;
  request: RequestPort;
  user?: User | null;
  /** `user`'s granted permissions when read with it (see `ResolvedSession.permissions`); null or absent: loaded when asked. */
  grantedPermissions?: readonly string[] | null;
}): GatehouseContext {
  const { em, session, user, grantedPermissions, services, request } = args;
  const permissions = new PermissionBackend(em);
  if (session?.permissions) permissions.prime(session.userId, session.permissions);
  if (user && grantedPermissions) permissions.prime(user.id, grantedPermissions);
  return new RequestContext(em, services, request, permissions, { session, user });
}

/**
 * The lazy parts are getters on the prototype over one shared `state`: Apollo Server copies the
 * context's own properties into a new object for each operation (`Object.assign`), which would
 * otherwise run every getter — mapping the session, building the loaders — up front.
 */
class RequestContext implements GatehouseContext {
  constructor(
    readonly em: EntityManager,
    readonly services: GatehouseServices,
    readonly request: RequestPort,
    readonly permissions: PermissionBackend,
    private readonly state: { session: ResolvedSession | null; user: User | null | undefined; loaders?: Loaders },
  ) {}

  get session(): Session | null {
    return this.state.session?.session ?? null;
  }

  get user(): User | null {
    return this.state.user !== undefined ? this.state.user : (this.state.session?.session.user ?? null);
  }

  get viewer(): User | null {
    return this.state.user !== undefined ? this.state.user : (this.state.session?.viewer ?? null);
  }

  get loaders(): Loaders {
    return (this.state.loaders ??= createLoaders(this.em));
  }
}

/**
 * After a write to users or groups: this request's loaders and the permissions it computed
 * for the caller (and for `userId`) are forgotten, so the rest of the operation (its selection
 * set, the next mutation of the same document) reads the new state.
 */
export function afterWrite<T>(ctx: GatehouseContext, result: T, userId?: number): T {
  ctx.loaders.clear();
  if (ctx.viewer) ctx.permissions.forget(ctx.viewer.id);
  if (userId !== undefined) ctx.permissions.forget(userId);
  return result;
}
