import { LogEntry } from '../../src/audit/log-entry.entity';
import { seedReferenceGroups } from '../../src/groups/seed';
import { GroupMappingRule } from '../../src/sso/group-mapping-rule.entity';
import { Group } from '../../src/groups/group.entity';
import { seedReferenceGroupsAndRules, seedReferenceRules } from '../../src/sso/seed-rules';
import { gatehouse } from '../cli/run-gatehouse';
import { createTestDatabase, type TestDatabase } from '../support/database';

describe('seedReferenceRules', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());
  const em = () => db.orm.em.fork();

  const rules = async () =>
    (await em().find(GroupMappingRule, {}, { populate: ['group'], orderBy: { id: 'asc' } })).map((r) => ({
      claim: r.claim,
      matchType: r.matchType,
      pattern: r.pattern,
      caseSensitive: r.caseSensitive,
      enabled: r.enabled,
      group: r.group.name,
    }));

  it('creates the original project’s four EXACT rules on the groups claim, and logs each', async () => {
    await seedReferenceGroups(em());
    expect(await seedReferenceRules(em())).toEqual([
      'B2E_APP_MANAGEMENT_VIEWER → viewer',
      'B2E_APP_MANAGEMENT_SUPPORT → support',
      'B2E_APP_MANAGEMENT_BUSINESS → business',
      'B2E_APP_MANAGEMENT_DEVELOPER → developer',
    ]);
    const common = { claim: null, matchType: 'EXACT', caseSensitive: true, enabled: true };
    expect(await rules()).toEqual([
      { ...common, pattern: 'B2E_APP_MANAGEMENT_VIEWER', group: 'viewer' },
      { ...common, pattern: 'B2E_APP_MANAGEMENT_SUPPORT', group: 'support' },
      { ...common, pattern: 'B2E_APP_MANAGEMENT_BUSINESS', group: 'business' },
      { ...common, pattern: 'B2E_APP_MANAGEMENT_DEVELOPER', group: 'developer' },
    ]);
    expect(await em().count(LogEntry, { appLabel: 'sso', model: 'groupmappingrule', actionFlag: 1, user: null })).toBe(4);
  });

  it('creates nothing on a second run, and keeps an admin’s later edits to a seeded rule', async () => {
    await em().nativeUpdate(GroupMappingRule, { pattern: 'B2E_APP_MANAGEMENT_VIEWER' }, { caseSensitive: false, description: 'edited' });
    const before = await rules();
    expect(await seedReferenceRules(em())).toEqual([]);
    expect(await rules()).toEqual(before);
  });

  it('puts back a seeded rule that was deleted, and only that one', async () => {
    await em().nativeDelete(GroupMappingRule, { pattern: 'B2E_APP_MANAGEMENT_BUSINESS' });
    expect(await seedReferenceRules(em())).toEqual(['B2E_APP_MANAGEMENT_BUSINESS → business']);
    expect(await em().count(GroupMappingRule, {})).toBe(4);
  });
});

describe('gatehouse seed (mapping rules)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('creates the rules with the groups, says so, and says there is nothing to do the second time', async () => {
    const first = await gatehouse(['seed'], { DATABASE_URL: db.url });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(
      'created mapping rules: B2E_APP_MANAGEMENT_VIEWER → viewer, B2E_APP_MANAGEMENT_SUPPORT → support, B2E_APP_MANAGEMENT_BUSINESS → business, B2E_APP_MANAGEMENT_DEVELOPER → developer\n',
    );
    const second = await gatehouse(['seed'], { DATABASE_URL: db.url });
    expect(second).toEqual({ code: 0, stdout: 'nothing to do: the reference groups are already seeded\n', stderr: '' });
    expect(await db.orm.em.fork().count(GroupMappingRule, {})).toBe(4);
  });
});

describe('seedReferenceGroupsAndRules', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('writes nothing when the rules cannot be written: groups and rules are one transaction', async () => {
    const em = db.orm.em.fork();
    await em.execute(
      `create function refuse_rule() returns trigger language plpgsql as $$ begin raise exception 'refused by test'; end $$`,
    );
    await em.execute('create trigger refuse_rule before insert on sso_groupmappingrule for each row execute function refuse_rule()');
    await expect(seedReferenceGroupsAndRules(db.orm.em.fork())).rejects.toThrow(/refused by test/);
    expect(await db.orm.em.fork().count(Group, {})).toBe(0);
    expect(await db.orm.em.fork().count(LogEntry, {})).toBe(0);
    await em.execute('drop trigger refuse_rule on sso_groupmappingrule');
    const seeded = await seedReferenceGroupsAndRules(db.orm.em.fork());
    expect(seeded.groups.createdGroups).toEqual(['viewer', 'business', 'support', 'developer']);
    expect(seeded.rules).toHaveLength(4);
  });
});
