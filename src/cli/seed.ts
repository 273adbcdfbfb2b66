import { assertMigrated } from '../db/migrate';
import { seedReferenceGroupsAndRules } from '../sso/seed-rules';
import type { CommandRun } from './main';

/** `gatehouse seed`: the reference groups and mapping rules (idempotent). */
export const seed: CommandRun = async ({ withDatabase, say }) => {
  const { groups: result, rules: createdRules } = await withDatabase(async (db) => {
    await assertMigrated(db.orm);
    return seedReferenceGroupsAndRules(db.orm.em.fork());
  });
  if (result.createdGroups.length === 0 && result.completedGroups.length === 0 && createdRules.length === 0) {
    say('nothing to do: the reference groups are already seeded');
    return;
  }
  if (result.createdGroups.length) say(`created groups: ${result.createdGroups.join(', ')}`);
  for (const { group, added } of result.completedGroups) say(`group ${group}: added ${added.join(', ')}`);
  if (createdRules.length) say(`created mapping rules: ${createdRules.join(', ')}`);
};
