import type { EntityManager } from '@mikro-orm/postgresql';
import { PermissionBackend } from '../permissions/has-perm';
import type { User } from '../users/user.entity';

/**
 * Everything a resolver may use, built fresh for each request: a forked EntityManager (its
 * identity map lives as long as the request) and a PermissionBackend whose cache dies with it.
 */
export interface GatehouseContext {
  readonly em: EntityManager;
  /** The signed-in, active user; null when the request carries no valid session. */
  readonly user: User | null;
  readonly permissions: PermissionBackend;
}

export function createContext(em: EntityManager, user: User | null): GatehouseContext {
  return { em, user, permissions: new PermissionBackend(em) };
}
