import { seedReferenceGroups } from '../groups/seed';
import { assertMigrated } from '../db/migrate';
import type { Command } from './main';

export const seedCommand: Command = {
  summary: 'create the reference groups (viewer, business, support, developer) and their permissions',
  usage: 'gatehouse seed',
  options: {},
  async run({ withDatabase, say }) {
    const result = await withDatabase(async (db) => {
      await assertMigrated(db.orm);
      return seedReferenceGroups(db.orm.em.fork());
    });
    if (result.createdGroups.length === 0 && result.completedGroups.length === 0) {
      say('nothing to do: the reference groups are already seeded');
      return;
    }
    if (result.createdGroups.length) say(`created groups: ${result.createdGroups.join(', ')}`);
    for (const { group, added } of result.completedGroups) say(`group ${group}: added ${added.join(', ')}`);
  },
};
