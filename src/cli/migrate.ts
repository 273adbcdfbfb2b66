import { makeMigration } from '../db/make-migration';
import { applyMigrations, migrate as migrateDatabase, migrationNeeded } from '../db/migrate';
import type { CommandRun } from './main';

/** `gatehouse migrate`: applies pending migrations, then synchronises the permissions. */
export const migrate: CommandRun = async ({ withDatabase, say }) => {
  const result = await withDatabase((db) => migrateDatabase(db.orm));
  say(result.applied.length ? `applied ${result.applied.length} migration(s): ${result.applied.join(', ')}` : 'no migrations to apply');
  const { created, updated } = result.permissions;
  say(created || updated ? `permissions: ${created} created, ${updated} renamed` : 'permissions up to date');
};

/** `gatehouse makemigrations`: writes a migration for the entities' changes (`--check`: only tells). */
export const makeMigrations: CommandRun = async ({ flags, withDatabase, say }) => {
  return withDatabase(async (db) => {
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
