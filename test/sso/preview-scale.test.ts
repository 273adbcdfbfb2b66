import { MatchType } from '../../src/sso/group-mapping-rule.entity';
import { previewRuleChange } from '../../src/sso/mapping-rules.service';
import { PreviewGroupMappingRuleDocument } from '../generated/graphql';
import { makeUser } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';

/*
 * Query.previewGroupMappingRule over thousands of identities and rules: right, and never holding
 * the event loop while it evaluates them: a timer in this process shows the longest the event
 * loop went without a turn during the preview (not slicing it, the whole evaluation in one go).
 */

const PEOPLE = 4000;
const RULES = 3000;

describe('Query.previewGroupMappingRule at scale', () => {
  let server: TestServer;
  let admin: string;
  let groupId: number;
  beforeAll(async () => {
    server = await startTestServer();
    const em = server.db.orm.em.fork();
    admin = await server.signIn(await makeUser(em, { isSuperuser: true }));
    // Groups g0…g99; rules: EXACT DEPT_<n>, GLOB TEAM_<n>_*, REGEX ROLE_<n>_(ADMIN|USER), each onto group n % 100.
    await em.execute(`insert into auth_group (name) select 'g' || n from generate_series(0, 99) n`);
    await em.execute(
      `insert into sso_groupmappingrule (claim, match_type, pattern, case_sensitive, group_id, enabled, description, created_at, updated_at)
         select null, (array['EXACT','GLOB','REGEX'])[n % 3 + 1],
                case n % 3 when 0 then 'DEPT_' || n when 1 then 'TEAM_' || n || '_*' else 'ROLE_' || n || '_(ADMIN|USER)' end,
                true, g.id, true, '', now(), now()
           from generate_series(0, ${RULES - 1}) n join auth_group g on g.name = 'g' || (n % 100)`,
    );
    // People u<n> with four directory groups; none yet in the group the proposal grants.
    await em.execute(
      `insert into auth_user (username, email, first_name, last_name, is_active, is_staff, is_superuser, date_joined)
         select 'u' || n, '', '', '', true, true, false, now() from generate_series(0, ${PEOPLE - 1}) n`,
    );
    await em.execute(
      `insert into sso_identity (user_id, issuer, subject, last_claims, created_at, last_login_at)
         select u.id, 'https://idp.example', u.username,
                jsonb_build_object('sub', u.username, 'groups', jsonb_build_array(
                  'DEPT_' || (n * 3 % ${RULES}), 'TEAM_' || (n * 3 % ${RULES} + 1) || '_EU', 'ROLE_' || (n * 3 % ${RULES} + 2) || '_USER', 'SITE_' || (n % 40))),
                now(), now()
           from generate_series(0, ${PEOPLE - 1}) n join auth_user u on u.username = 'u' || n`,
    );
    await em.execute(`insert into auth_group (name) values ('proposed')`);
    groupId = (await em.execute<Array<{ id: number }>>(`select id from auth_group where name = 'proposed'`))[0].id;
  }, 120_000);
  afterAll(() => server?.stop());

  const input = () => ({ matchType: MatchType.GLOB, pattern: 'SITE_1*', groupId: String(groupId), caseSensitive: true, enabled: true });

  it('names exactly the people the proposal gives a group', async () => {
    const result = await server.graphql(PreviewGroupMappingRuleDocument, { input: input() }, admin);
    expect(result.errors).toBeUndefined();
    const expected = Array.from({ length: PEOPLE }, (_, n) => n).filter((n) => /^1\d?$/.test(String(n % 40)));
    expect(result.data!.previewGroupMappingRule.map((impact) => impact.username)).toEqual(expected.map((n) => `u${n}`));
    expect(result.data!.previewGroupMappingRule[0]).toMatchObject({ gained: [{ name: 'proposed' }], lost: [] });
  });

  it('lets the event loop turn every few milliseconds while it evaluates the identities', async () => {
    const proposal = { ...input(), groupId, claim: null, description: '' };
    let last = performance.now();
    let longest = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 1);
    const started = performance.now();
    const impacts = await previewRuleChange(server.db.orm.em.fork(), proposal, 'groups');
    const took = performance.now() - started;
    clearInterval(timer);
    expect(impacts).toHaveLength(PEOPLE * (11 / 40));
    // All at once, the evaluation alone holds it for the whole preview (hundreds of ms here).
    expect([longest < 100, Math.round(longest), Math.round(took)]).toEqual([true, expect.any(Number), expect.any(Number)]);
  });
});
