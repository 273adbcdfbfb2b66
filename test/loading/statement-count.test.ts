import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { GraphQLSchema } from 'graphql';
import { Group } from '../../src/groups/group.entity';
import { MAX_PAGE_SIZE } from '../../src/db/keyset';
import { operationCost } from '../../src/graphql/cost';
import { QUERY_LIMITS } from '../../src/graphql/limits';
import { buildDeclaredSchema } from '../../src/graphql/schema';
import { Permission } from '../../src/permissions/permission.entity';
import { MembershipSource, UserGroup } from '../../src/users/user-group.entity';
import { User } from '../../src/users/user.entity';
import { UsersReadPathDocument, UsersReadPathThroughFragmentsDocument } from '../generated/graphql';
import { makeGroup, makeRule, makeUser } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';

/**
 * The headline read path costs the same statements for any page size — 3 in all, the session
 * lookup included (only the sign-in itself is not counted):
 *   1. the session, its user and the user's effective permissions (one statement, which every
 *      @hasPermission check of the request then reads),
 *   2. the page of users,
 *   3. the page's memberships, their groups and the groups' permissions (one statement).
 * Counted over real HTTP from what the server's ORM actually ran, up to the largest page the
 * query cost limit admits for these queries (a larger one is refused before any statement).
 */
describe('batched loading of Query.users', () => {
  let server: TestServer;
  let token: string;
  let schema: GraphQLSchema;

  /** The largest `first` the cost limit admits for `document` (at most MAX_PAGE_SIZE). */
  const largestPage = (document: TypedDocumentNode<unknown, { first: number }>): number => {
    let first = MAX_PAGE_SIZE;
    while (first > 1 && Number(operationCost({ schema, document, variables: { first } }, QUERY_LIMITS.maxCost)) > QUERY_LIMITS.maxCost)
      first--;
    return first;
  };

  beforeAll(async () => {
    schema = await buildDeclaredSchema();
    server = await startTestServer();
    const em = server.db.orm.em.fork();
    const reader = await makeGroup(em, ['auth.view_user', 'auth.view_group', 'auth.view_permission'], 'a-readers');
    const caller = await makeUser(em, { username: 'a-caller', groups: [reader] });
    token = await server.signIn(caller);

    // 500 users, each in 3 of 30 groups of 20 permissions; every tenth user is also in its
    // first group through a single sign-on rule (two memberships, one group).
    const permissions = await em.find(Permission, {}, { orderBy: { id: 'asc' } });
    const groups: Group[] = [];
    for (let g = 0; g < 30; g++) {
      const group = em.create(Group, { name: `g${String(g).padStart(2, '0')}` });
      group.permissions.set(permissions.slice(g % 8, (g % 8) + 20));
      groups.push(group);
    }
    await em.flush();
    const rule = await makeRule(em, groups[0]);
    for (let u = 0; u < 500; u++) {
      const user = em.create(User, { username: `u${String(u).padStart(3, '0')}` });
      for (let k = 0; k < 3; k++) em.create(UserGroup, { user, group: groups[(u + k * 7) % 30], source: MembershipSource.ADMIN });
      if (u % 10 === 0) em.create(UserGroup, { user, group: rule.group, source: MembershipSource.SSO_RULE, rule });
    }
    await em.flush();
  });
  afterAll(() => server.stop());

  for (const page of [5, 50, 'the largest page the cost limit admits'] as const) {
    it(`runs 3 statements, session lookup included, for first: ${page}`, async () => {
      const n = typeof page === 'number' ? page : largestPage(UsersReadPathDocument);
      if (typeof page !== 'number') expect(n).toBeGreaterThan(50);
      server.resetQueries();
      const result = await server.graphql(UsersReadPathDocument, { first: n }, token);
      expect(result.errors).toBeUndefined();
      const edges = result.data!.users.edges;
      expect(edges).toHaveLength(n);
      const sample = edges.find((e) => e.node.username.startsWith('u'))!.node;
      expect(sample.groups).toHaveLength(3);
      for (const group of sample.groups!) expect(group.permissions).toHaveLength(20);
      expect(server.queries).toHaveLength(3);
      // The session, its user and the caller's permissions, in one statement.
      expect(server.queries[0]).toMatch(/from auth_session s join auth_user u/);
      expect(server.queries[0]).toMatch(/auth_group_permissions/);
      expect(server.queries[1]).toMatch(/from auth_user u/);
      expect(server.queries[1]).not.toMatch(/auth_session/);
      expect(server.queries[2]).toMatch(/auth_user_groups/);
    });
  }

  it('runs the same 3 when the fields come through fragments and memberships', async () => {
    const first = largestPage(UsersReadPathThroughFragmentsDocument);
    expect(first).toBeGreaterThan(50);
    server.resetQueries();
    const result = await server.graphql(UsersReadPathThroughFragmentsDocument, { first }, token);
    expect(result.errors).toBeUndefined();
    expect(result.data!.users.edges).toHaveLength(first);
    expect(server.queries).toHaveLength(3);
  });

  it('refuses first: 500 of the headline query (cost) after the session lookup alone', async () => {
    server.resetQueries();
    const result = await server.graphql(UsersReadPathDocument, { first: 500 }, token);
    expect(result.status).toBe(400);
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'cost' });
    expect(server.queries).toHaveLength(1);
    expect(server.queries[0]).toMatch(/from auth_session s join auth_user u/);
  });
});
