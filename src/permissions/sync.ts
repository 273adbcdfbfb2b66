import type { EntityManager } from '@mikro-orm/postgresql';
import { ALL_PERMISSIONS } from './registry';

export interface SyncResult {
  created: number;
  updated: number;
}

/**
 * Brings `auth_permission` in line with the model registry, like Django's
 * `create_permissions`: missing permissions are created, names kept current, nothing is
 * duplicated, and permissions of models no longer registered are left alone (their grants
 * may still matter to an admin). One statement; running it twice changes nothing.
 */
export async function syncPermissions(em: EntityManager): Promise<SyncResult> {
  const values = ALL_PERMISSIONS.map(() => '(?, ?, ?, ?)').join(', ');
  const params = ALL_PERMISSIONS.flatMap((p) => [p.appLabel, p.model, p.codename, p.name]);
  const rows = await em.execute<Array<{ inserted: boolean }>>(
    `insert into auth_permission (app_label, model, codename, name) values ${values}
     on conflict (app_label, codename) do update set name = excluded.name, model = excluded.model
       where auth_permission.name is distinct from excluded.name or auth_permission.model is distinct from excluded.model
     returning (xmax = 0) as inserted`,
    params,
  );
  const created = rows.filter((row) => row.inserted).length;
  return { created, updated: rows.length - created };
}
