import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../../config/logger';
import { Group } from '../../groups/group.entity';
import { GroupMappingRule } from '../group-mapping-rule.entity';
import { seedReferenceGroupsAndRules } from '../seed-rules';

/**
 * With the development identity provider on, a database that has neither groups nor mapping
 * rules gets the reference groups and the four reference rules (what `gatehouse seed` does),
 * so signing in as a directory user works on the first `npm start`. A database an admin has
 * already shaped is left alone.
 */
export async function seedForDevelopmentProvider(em: EntityManager, logger: Logger): Promise<void> {
  if ((await em.count(Group, {})) > 0 || (await em.count(GroupMappingRule, {})) > 0) return;
  const { groups, rules } = await seedReferenceGroupsAndRules(em.fork());
  logger.info(
    { groups: groups.createdGroups, rules },
    'seeded the reference groups and mapping rules for the development identity provider',
  );
}
