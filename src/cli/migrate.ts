import { RunningServerError, type Database } from '../db/database';
import { makeMigration } from '../db/make-migration';
import { applyMigrations, migrate as migrateDatabase, migrationNeeded, pendingMigrations } from '../db/migrate';
import type { CommandRun } from './main';

/** `gatehouse migrate`: applies pending migrations, then synchronises the permissions (`--check`: only tells). */
export const migrate: CommandRun = async ({ flags, withDatabase, say }) => {
  if (flags.check) {
    const pending = await withDatabase((db) => pendingMigrations(db.orm));
    if (pending.length) {
      say(`${pending.length} pending migration(s): ${pending.join(', ')}`);
      return 1;
    }
    say('no migrations to apply');
    return 0;
  }
  const result = await withDatabase(async (db) => {
    await refuseSchemaChangeUnderServer(db);
    return migrateDatabase(db.orm);
  });
  say(result.applied.length ? `applied ${result.applied.length} migration(s): ${result.applied.join(', ')}` : 'no migrations to apply');
  const { created, updated } = result.permissions;
  say(created || updated ? `permissions: ${created} created, ${updated} renamed` : 'permissions up to date');
};

/** `gatehouse makemigrations`: writes a migration for the entities' changes (`--check`: only tells). */
export const makeMigrations: CommandRun = async ({ flags, withDatabase, say }) => {
  return withDatabase(async (db) => {
    await refuseSchemaChangeUnderServer(db);
    await applyMigrations(db.orm);
    if (flags.check) {
      if (await migrationNeeded(db.orm)) {
        say('the entities and the migrations disagree: run `gatehouse makemigrations` and commit the new migration');
        return 1;
      }
      say('migrations match the entities');
      return 0;
    }
    const file = await makeMigration(db.orm, flags.name as string | undefined);
    say(file ? `wrote migrations/${file}` : 'no changes detected');
    return 0;
  });
};

/**
 * Applying migrations through a running server's embedded database would change the schema
 * under the code that server runs (it applied its own at start, without PostgreSQL's advisory
 * lock): that needs the database to itself. With nothing pending, the command goes on.
 */
async function refuseSchemaChangeUnderServer(db: Database): Promise<void> {
  if (!db.through) return;
  const pending = await pendingMigrations(db.orm);
  if (pending.length)
    throw new RunningServerError(db.through.pid, `${pending.length} pending migration(s) would change the schema under a running server`);
}
