import { MikroORM } from '@mikro-orm/postgresql';

/**
 * Writes a migration for the difference between the entities and the migrated database
 * (run `migrate` first). Returns the file written, or null when there is no difference.
 */
export async function makeMigration(orm: MikroORM, name?: string): Promise<string | null> {
  const migrator = orm.getMigrator();
  const pending = await migrator.getPendingMigrations();
  if (pending.length > 0) throw new Error(`apply the pending migrations first (${pending.map((m) => m.name).join(', ')})`);
  const result = await migrator.createMigration(undefined, false, false, name);
  return result.fileName || null;
}
