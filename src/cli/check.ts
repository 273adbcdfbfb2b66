import { checkMessage, errorsIn, formatCheck, warningsIn, type CheckMessage } from '../checks';
import type { Database } from '../db/database';
import { migrationNeeded, pendingMigrations } from '../db/migrate';
import { checkSchema } from '../graphql/access';
import { buildDeclaredSchema } from '../graphql/schema';
import { Permission } from '../permissions/permission.entity';
import { ALL_PERMISSIONS } from '../permissions/registry';
import type { CommandRun } from './main';

/**
 * Runs the system checks (the configuration's are done before any command runs): the schema's
 * access declarations and permission use, then the database — reachable, fully migrated, schema
 * matching the entities, permissions in line with the registry. Prints each finding on stderr as
 * `error: [<id>] …` or `warning: [<id>] …`; exits 1 when there is an error, 0 with warnings only.
 */
export const check: CommandRun = async ({ withDatabase, say }) => {
  const schemaChecks = checkSchema(await buildDeclaredSchema());
  const databaseChecks = await withDatabase(async (db) => {
    say(`configuration ok (database: ${db.kind}${db.through ? `, through the running Gatehouse server, pid ${db.through.pid}` : ''})`);
    return checkDatabase(db);
  });
  if (!databaseChecks.length) say('database ok: migrated, schema matches the entities, permissions in sync');
  const found = [...schemaChecks, ...databaseChecks];
  for (const check of [...errorsIn(found), ...warningsIn(found)]) process.stderr.write(`${check.level}: ${formatCheck(check)}\n`);
  return errorsIn(found).length ? 1 : 0;
};

async function checkDatabase(db: Database): Promise<CheckMessage[]> {
  const pending = await pendingMigrations(db.orm);
  if (pending.length) return [checkMessage('gatehouse.database.E001', `${pending.length} pending migration(s) (${pending.join(', ')})`)];
  const found: CheckMessage[] = [];
  if (await migrationNeeded(db.orm)) found.push(checkMessage('gatehouse.database.E002', 'the database schema differs from the entities'));
  const existing = new Set((await db.orm.em.fork().find(Permission, {})).map((p) => p.fullName));
  const missing = ALL_PERMISSIONS.filter((p) => !existing.has(p.fullName)).map((p) => p.fullName);
  if (missing.length) found.push(checkMessage('gatehouse.database.E003', `permissions missing from the database: ${missing.join(', ')}`));
  return found;
}
