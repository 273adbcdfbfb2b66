import { logChange } from '../../src/audit/audit.service';
import { ActionFlag, LogEntry } from '../../src/audit/log-entry.entity';
import { modelRef } from '../../src/permissions/registry';
import type { User } from '../../src/users/user.entity';
import { makeUser } from '../support/factories';
import {
  LogEntriesDocument as LIST,
  type LogEntriesQuery,
  type LogEntriesQueryVariables,
  type LogEntryFilterInput,
} from '../generated/graphql';
import { startTestServer, type TestServer } from '../support/server';

const TWEET = modelRef('core', 'tweet');
const LANGUAGE = modelRef('core', 'language');

describe('Query.logEntries', () => {
  let server: TestServer;
  let token: string;
  let ada: User;
  let grace: User;
  beforeAll(async () => {
    server = await startTestServer();
    const em = server.db.orm.em.fork();
    ada = await makeUser(em, { username: 'ada' });
    grace = await makeUser(em, { username: 'grace' });
    // auth.view_user for the actors' accounts (LogEntry.user); guards.test.ts covers the log without it.
    ({ token } = await server.signInWith(['admin.view_logentry', 'auth.view_user']));
    // That sign-in is in the log too (audit-trail.test.ts reads such events); this file reads a known history only.
    await em.nativeDelete(LogEntry, { event: { $ne: null } });
    // A known history, oldest first (one per minute in 2024), plus an actor-less event.
    const history: Array<[User | null, typeof TWEET, string, ActionFlag]> = [
      [ada, TWEET, 't-1', ActionFlag.ADDITION],
      [grace, TWEET, 't-1', ActionFlag.CHANGE],
      [ada, LANGUAGE, 'l-1', ActionFlag.ADDITION],
      [grace, LANGUAGE, 'l-1', ActionFlag.DELETION],
      [ada, TWEET, 't-2', ActionFlag.ADDITION],
      [null, TWEET, 't-2', ActionFlag.CHANGE],
    ];
    history.forEach(([actor, model, objectId, action], i) => {
      const entry = logChange(em, {
        actor,
        model,
        objectId,
        objectRepr: `object ${objectId}`,
        action,
        message: action === ActionFlag.CHANGE ? [{ changed: { fields: ['screenName'] } }] : undefined,
      });
      entry.actionTime = new Date(Date.UTC(2024, 0, 1, 0, i));
    });
    await em.flush();
  });
  afterAll(() => server?.stop());

  const list = async (variables: LogEntriesQueryVariables) => {
    const result = await server.graphql(LIST, variables, token);
    expect(result.errors).toBeUndefined();
    return result.data!.logEntries;
  };
  const summary = (page: LogEntriesQuery['logEntries']) =>
    page.edges.map(({ node }) => `${node.user?.username ?? '-'} ${node.actionFlag} ${node.model} ${node.objectId}`);

  it('lists the admin log newest first, with who, what, the action flag and the JSON change message', async () => {
    const page = await list({ first: 10 });
    expect(summary(page)).toEqual([
      '- CHANGE tweet t-2',
      'ada ADDITION tweet t-2',
      'grace DELETION language l-1',
      'ada ADDITION language l-1',
      'grace CHANGE tweet t-1',
      'ada ADDITION tweet t-1',
    ]);
    expect(page.edges[0].node).toMatchObject({
      appLabel: 'core',
      objectRepr: 'object t-2',
      actionTime: '2024-01-01T00:05:00.000Z',
      changeMessage: [{ changed: { fields: ['screenName'] } }],
    });
    expect(page.edges[1].node.changeMessage).toEqual([{ added: {} }]);
    expect(page.totalCount).toBe(6);
  });

  it.each<[string, () => LogEntryFilterInput, string[]]>([
    ['userId', () => ({ userId: String(ada.id) }), ['ada ADDITION tweet t-2', 'ada ADDITION language l-1', 'ada ADDITION tweet t-1']],
    ['appLabel', () => ({ appLabel: 'auth' }), []],
    ['model', () => ({ model: 'language' }), ['grace DELETION language l-1', 'ada ADDITION language l-1']],
    ['objectId (with model)', () => ({ model: 'tweet', objectId: 't-1' }), ['grace CHANGE tweet t-1', 'ada ADDITION tweet t-1']],
    ['actionFlag', () => ({ actionFlag: 'CHANGE' }), ['- CHANGE tweet t-2', 'grace CHANGE tweet t-1']],
    ['since', () => ({ since: '2024-01-01T00:04:00.000Z' }), ['- CHANGE tweet t-2', 'ada ADDITION tweet t-2']],
    [
      'several criteria at once',
      () => ({ userId: String(grace.id), appLabel: 'core', actionFlag: 'DELETION' }),
      ['grace DELETION language l-1'],
    ],
  ])('filters by %s', async (_what, filter, expected) => {
    const page = await list({ first: 10, filter: filter() });
    expect(summary(page)).toEqual(expected);
    expect(page.totalCount).toBe(expected.length);
  });

  it('pages newest first with first/after and stops with hasNextPage false', async () => {
    const first = await list({ first: 4 });
    expect(first.pageInfo).toEqual({ hasNextPage: true, endCursor: first.edges[3].cursor });
    const second = await list({ first: 4, after: first.pageInfo.endCursor });
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect([...summary(first), ...summary(second)]).toEqual(summary(await list({ first: 10 })));
  });

  it('loads the actors of a whole page in a constant number of statements (no N+1)', async () => {
    const em = server.db.orm.em.fork();
    const actors = await Promise.all(Array.from({ length: 12 }, () => makeUser(em)));
    actors.forEach((actor, i) =>
      logChange(em, { actor, model: TWEET, objectId: `bulk-${i}`, objectRepr: 'bulk', action: ActionFlag.ADDITION }),
    );
    await em.flush();
    const statements = async (first: number) => {
      server.resetQueries();
      const page = await list({ first, filter: { objectId: null } });
      expect(page.edges.length).toBe(first);
      expect(page.edges.every((e) => e.node.user === null || typeof e.node.user.username === 'string')).toBe(true);
      return server.queries.length;
    };
    expect(await statements(12)).toBe(await statements(2));
  });

  it('refuses a filter.userId that is not an id with BAD_USER_INPUT naming it', async () => {
    const result = await server.graphql(LIST, { first: 1, filter: { userId: 'ada' } }, token);
    expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'BAD_USER_INPUT', field: 'filter.userId' }]);
  });

  it('keeps the entry when its actor is deleted, with user null', async () => {
    const em = server.db.orm.em.fork();
    const leaver = await makeUser(em);
    logChange(em, { actor: leaver, model: TWEET, objectId: 'left', objectRepr: 'left', action: ActionFlag.DELETION });
    await em.flush();
    await em.nativeDelete('User', { id: leaver.id });
    const page = await list({ first: 1, filter: { objectId: 'left' } });
    expect(page.edges.map((e) => e.node.user)).toEqual([null]);
    expect(await em.count(LogEntry, { objectId: 'left' })).toBe(1);
  });

  it('is refused without admin.view_logentry (FORBIDDEN naming it)', async () => {
    const other = await server.signInWith(['admin.add_logentry', 'admin.change_logentry', 'admin.delete_logentry']);
    const result = await server.graphql(LIST, { first: 1 }, other.token);
    expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'FORBIDDEN', permission: 'admin.view_logentry' }]);
  });
});
