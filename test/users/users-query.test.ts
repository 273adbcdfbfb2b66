import { User } from '../../src/users/user.entity';
import { MembershipSource, UserGroup } from '../../src/users/user-group.entity';
import {
  UserDocument,
  UsersDatesDocument,
  UsersPageDocument,
  type UserFilter,
  type UserOrder,
  type UsersPageQuery,
  type UsersPageQueryVariables,
} from '../generated/graphql';
import { makeGroup, makeRule, makeUser } from '../support/factories';
import { startTestServer, type SignedIn, type TestServer } from '../support/server';
import { onlyError } from '../support/graphql-client';
import { globalIdOf } from '../support/global-ids';

describe('Query.users', () => {
  let server: TestServer;
  let reader: SignedIn;
  const em = () => server.db.orm.em.fork();
  // Every username of this file starts with its own prefix, so filters can scope to them.
  const P = 'uq-';

  const page = async (variables: UsersPageQueryVariables, token = reader.token) => {
    const result = await server.graphql(UsersPageDocument, variables, token);
    expect(result.errors).toBeUndefined();
    return result.data!.users;
  };

  /** Every username through all pages of `first` rows each. */
  const walk = async (variables: UsersPageQueryVariables, first: number) => {
    const names: string[] = [];
    let after = variables.after ?? null;
    for (;;) {
      const users: UsersPageQuery['users'] = await page({ ...variables, first, after });
      names.push(...users.edges.map((e) => e.node.username));
      if (!users.pageInfo.hasNextPage) return names;
      after = users.pageInfo.endCursor;
    }
  };

  beforeAll(async () => {
    server = await startTestServer();
    reader = await server.signInWith(['auth.view_user', 'auth.view_group', 'auth.view_permission'], { username: 'reader' });
    const e = em();
    const joined = (days: number) => new Date(Date.UTC(2024, 0, 1) + days * 86_400_000);
    e.create(User, { username: `${P}ada`, email: 'ada@Analytical.example', firstName: 'Ada', lastName: 'Lovelace', dateJoined: joined(3) });
    e.create(User, {
      username: `${P}alan`,
      email: 'alan@example.com',
      firstName: 'Alan',
      lastName: 'Turing',
      dateJoined: joined(1),
      lastLogin: new Date('2026-11-29T15:30:15.807Z'),
      isStaff: true,
    });
    e.create(User, {
      username: `${P}grace`,
      email: 'grace@navy.example',
      firstName: 'Grace',
      lastName: 'Hopper',
      dateJoined: joined(2),
      isSuperuser: true,
      isStaff: true,
    });
    e.create(User, {
      username: `${P}edsger`,
      email: 'ewd@example.com',
      firstName: 'Edsger',
      lastName: 'Dijkstra',
      dateJoined: joined(2),
      isActive: false,
    });
    e.create(User, {
      username: `${P}barbara`,
      email: 'barbara@example.com',
      firstName: 'Barbara',
      lastName: 'Liskov_100%',
      dateJoined: joined(5),
    });
    await e.flush();
  });
  afterAll(() => server.stop());

  it('lists users in username order by default, with a total count', async () => {
    const users = await page({ filter: { search: P } });
    expect(users.edges.map((e) => e.node.username)).toEqual([`${P}ada`, `${P}alan`, `${P}barbara`, `${P}edsger`, `${P}grace`]);
    expect(users.totalCount).toBe(5);
    expect(users.pageInfo.hasNextPage).toBe(false);
  });

  // The raw read path once handed the DateTimeISO scalar PostgreSQL's text of a timestamptz
  // ("2026-11-29 15:30:15.807+00"), which it refused: INTERNAL_SERVER_ERROR for every user.
  it('answers dateJoined and lastLogin as ISO date-times, not the database’s text', async () => {
    const result = await server.graphql(
      UsersDatesDocument,
      { filter: { search: `${P}a` }, orderBy: 'DATE_JOINED_ASC' as UserOrder },
      reader.token,
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.users.edges.map((e) => e.node)).toEqual([
      { username: `${P}alan`, dateJoined: '2024-01-02T00:00:00.000Z', lastLogin: '2026-11-29T15:30:15.807Z' },
      { username: `${P}ada`, dateJoined: '2024-01-04T00:00:00.000Z', lastLogin: null },
    ]);
  });

  it('searches username, e-mail, first and last name, case-insensitively', async () => {
    const search = async (text: string) => (await page({ filter: { search: text } })).edges.map((e) => e.node.username);
    expect(await search('ANALYTICAL')).toEqual([`${P}ada`]); // e-mail
    expect(await search('hopp')).toEqual([`${P}grace`]); // last name
    expect(await search('edsGER')).toEqual([`${P}edsger`]); // username and first name
    expect(await search('alan')).toEqual([`${P}alan`]);
  });

  it('takes % and _ in a search literally', async () => {
    expect((await page({ filter: { search: '_100%' } })).edges.map((e) => e.node.username)).toEqual([`${P}barbara`]);
    expect((await page({ filter: { search: '%' } })).edges.map((e) => e.node.username)).toEqual([`${P}barbara`]);
  });

  it('filters by isActive, isStaff and isSuperuser, all conditions holding', async () => {
    const names = async (filter: UserFilter) => (await page({ filter: { search: P, ...filter } })).edges.map((e) => e.node.username);
    expect(await names({ isActive: false })).toEqual([`${P}edsger`]);
    expect(await names({ isStaff: true })).toEqual([`${P}alan`, `${P}grace`]);
    expect(await names({ isStaff: true, isSuperuser: false })).toEqual([`${P}alan`]);
    expect(await names({ isSuperuser: true })).toEqual([`${P}grace`]);
    expect((await page({ filter: { search: P, isStaff: true } })).totalCount).toBe(2);
  });

  it('filters by group, counting a user once however many memberships lead there', async () => {
    const e = em();
    const group = await makeGroup(e, []);
    const member = await makeUser(e, { username: `${P}member`, groups: [group] });
    e.create(UserGroup, { user: member, group, source: MembershipSource.SSO_RULE, rule: await makeRule(e, group) });
    await e.flush();
    const users = await page({ filter: { groupId: String(group.id) } });
    expect(users.edges.map((e) => e.node.username)).toEqual([`${P}member`]);
    expect(users.totalCount).toBe(1);
    await em().nativeDelete(User, { id: member.id });
  });

  it('refuses a group id that cannot be one with BAD_USER_INPUT naming filter.groupId', async () => {
    const error = onlyError(await server.graphql(UsersPageDocument, { filter: { groupId: 'x1' } }, reader.token));
    expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'filter.groupId' });
  });

  it.each<[UserOrder, string[]]>([
    ['USERNAME_ASC', ['ada', 'alan', 'barbara', 'edsger', 'grace']],
    ['USERNAME_DESC', ['grace', 'edsger', 'barbara', 'alan', 'ada']],
    // alan (day 1); grace and edsger joined at the same instant (day 2): the id breaks the tie
    ['DATE_JOINED_ASC', ['alan', 'grace', 'edsger', 'ada', 'barbara']],
    ['DATE_JOINED_DESC', ['barbara', 'ada', 'edsger', 'grace', 'alan']],
  ])('pages through %s with cursors, two at a time, without gaps or repeats', async (orderBy, expected) => {
    expect(await walk({ filter: { search: P }, orderBy }, 2)).toEqual(expected.map((name) => `${P}${name}`));
  });

  it('keeps a cursor valid while rows are added before and after it', async () => {
    const first = await page({ filter: { search: P }, orderBy: 'USERNAME_ASC', first: 2 });
    const e = em();
    const early = e.create(User, { username: `${P}aaron` });
    const late = e.create(User, { username: `${P}zuse` });
    await e.flush();
    try {
      const rest = await walk({ filter: { search: P }, orderBy: 'USERNAME_ASC', after: first.pageInfo.endCursor }, 2);
      expect(rest).toEqual([`${P}barbara`, `${P}edsger`, `${P}grace`, `${P}zuse`]);
    } finally {
      await em().nativeDelete(User, { id: { $in: [early.id, late.id] } });
    }
  });

  it('keeps date cursors exact to the microsecond (a millisecond cursor would repeat the row)', async () => {
    const e = em();
    await e.execute(`update auth_user set date_joined = '2000-01-01T00:00:00.123456Z' where username = '${P}barbara'`);
    try {
      const one = await page({ filter: { search: P }, orderBy: 'DATE_JOINED_ASC', first: 1 });
      expect(one.edges[0].node.username).toBe(`${P}barbara`);
      const next = await page({ filter: { search: P }, orderBy: 'DATE_JOINED_ASC', first: 1, after: one.pageInfo.endCursor });
      expect(next.edges[0].node.username).toBe(`${P}alan`);
    } finally {
      await em().execute(`update auth_user set date_joined = '2024-01-06T00:00:00Z' where username = '${P}barbara'`);
    }
  });

  it('refuses a cursor of another ordering, or a forged one, with BAD_USER_INPUT naming after', async () => {
    const byName = await page({ filter: { search: P }, first: 1 });
    const wrong = onlyError(
      await server.graphql(UsersPageDocument, { orderBy: 'DATE_JOINED_ASC', after: byName.pageInfo.endCursor }, reader.token),
    );
    expect(wrong.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    const forged = Buffer.from(JSON.stringify(['DATE_JOINED_ASC', "2024'; drop table auth_user; --", 1])).toString('base64url');
    expect(
      onlyError(await server.graphql(UsersPageDocument, { orderBy: 'DATE_JOINED_ASC', after: forged }, reader.token)).extensions,
    ).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    expect(onlyError(await server.graphql(UsersPageDocument, { after: 'not-a-cursor' }, reader.token)).extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'after',
    });
  });

  it('refuses a page size outside 1..500 with BAD_USER_INPUT naming first', async () => {
    expect(onlyError(await server.graphql(UsersPageDocument, { first: 0 }, reader.token)).extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'first',
    });
    expect(onlyError(await server.graphql(UsersPageDocument, { first: 501 }, reader.token)).extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'first',
    });
  });

  it('refuses a caller without auth.view_user with FORBIDDEN naming it, and an anonymous one with UNAUTHENTICATED', async () => {
    const other = await server.signInWith(['auth.view_group']);
    const denied = onlyError(await server.graphql(UsersPageDocument, {}, other.token));
    expect(denied.extensions).toEqual({ code: 'FORBIDDEN', permission: 'auth.view_user' });
    expect(onlyError(await server.graphql(UsersPageDocument, {})).extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });
});

describe('Query.user', () => {
  let server: TestServer;
  let reader: SignedIn;
  beforeAll(async () => {
    server = await startTestServer();
    reader = await server.signInWith(['auth.view_user']);
  });
  afterAll(() => server.stop());
  it('returns the user with that global id (or, for now, database key), and null for one that does not exist', async () => {
    const target = await makeUser(server.db.orm.em.fork(), { username: 'someone' });
    const expected = { user: { id: globalIdOf(target), username: 'someone', email: '', isActive: true } };
    expect((await server.graphql(UserDocument, { id: globalIdOf(target) }, reader.token)).data).toEqual(expected);
    expect((await server.graphql(UserDocument, { id: String(target.id) }, reader.token)).data).toEqual(expected);
    expect(await server.graphql(UserDocument, { id: '999999' }, reader.token)).toMatchObject({ data: { user: null } });
  });

  it('refuses an id that cannot name a user (malformed, or another type’s) with BAD_USER_INPUT naming id', async () => {
    const group = await makeGroup(server.db.orm.em.fork());
    for (const id of ['abc', '99999999999', globalIdOf(group)]) {
      const result = await server.graphql(UserDocument, { id }, reader.token);
      expect(onlyError(result).extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'id' });
      expect(result.data).toEqual({ user: null });
    }
  });

  it('answers a caller without auth.view_user the same FORBIDDEN whether the user exists or not', async () => {
    const other = await server.signInWith([]);
    const target = await makeUser(server.db.orm.em.fork());
    server.resetQueries();
    const existing = await server.graphql(UserDocument, { id: String(target.id) }, other.token);
    const missing = await server.graphql(UserDocument, { id: '999999' }, other.token);
    expect(existing.errors).toEqual(missing.errors);
    expect(onlyError(existing).extensions).toEqual({ code: 'FORBIDDEN', permission: 'auth.view_user' });
    // Only the session lookups and the caller's permissions ran: nothing touched auth_user for the target.
    expect(server.queries.filter((sql) => /from auth_user u\b/.test(sql))).toEqual([]);
  });
});
