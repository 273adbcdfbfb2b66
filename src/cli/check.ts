import { migrationNeeded, pendingMigrations } from '../db/migrate';
import { Permission } from '../permissions/permission.entity';
import { ALL_PERMISSIONS } from '../permissions/registry';
import type { CommandRun } from './main';

/**
 * Validates the configuration (done before any command runs) and the database: reachable,
 * fully migrated, schema matching the entities, permissions in line with the registry.
 */
export const check: CommandRun = async ({ withDatabase, say }) => {
  const problems = await withDatabase(async (db) => {
    say(`configuration ok (database: ${db.kind})`);
    const found: string[] = [];
    const pending = await pendingMigrations(db.orm);
    if (pending.length) {
      found.push(`${pending.length} pending migration(s) (${pending.join(', ')}): run \`gatehouse migrate\``);
      return found;
    }
    if (await migrationNeeded(db.orm))
      found.push('the database schema differs from the entities: a migration is missing (`gatehouse makemigrations`)');
    const existing = new Set((await db.orm.em.fork().find(Permission, {})).map((p) => p.fullName));
    const missing = ALL_PERMISSIONS.filter((p) => !existing.has(p.fullName)).map((p) => p.fullName);
    if (missing.length) found.push(`permissions missing from the database: ${missing.join(', ')} (run \`gatehouse migrate\`)`);
    return found;
  });
  for (const problem of problems) process.stderr.write(`problem: ${problem}\n`);
  if (problems.length) return 1;
  say('database ok: migrated, schema matches the entities, permissions in sync');
};
