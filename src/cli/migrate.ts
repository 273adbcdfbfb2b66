import { makeMigration } from '../db/make-migration';
import { applyMigrations, migrate, migrationNeeded } from '../db/migrate';
import type { Command } from './main';

export const migrateCommand: Command = {
  summary: 'apply pending database migrations and synchronise the permissions with the model registry',
  usage: 'gatehouse migrate',
  options: {},
  async run({ withDatabase, say }) {
    const result = await withDatabase((db) => migrate(db.orm));
    say(result.applied.length ? `applied ${result.applied.length} migration(s): ${result.applied.join(', ')}` : 'no migrations to apply');
    const { created, updated } = result.permissions;
    say(created || updated ? `permissions: ${created} created, ${updated} renamed` : 'permissions up to date');
  },
};

export const makeMigrationsCommand: Command = {
  summary: 'write a migration for model changes (--check: exit 1 if one is needed, write nothing)',
  usage: 'gatehouse makemigrations [--name <name>] [--check]',
  options: { name: { type: 'string' }, check: { type: 'boolean' } },
  async run({ flags, withDatabase, say }) {
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
  },
};
