import { Group } from '../../src/groups/group.entity';
import { Permission } from '../../src/permissions/permission.entity';
import { MembershipSource, UserGroup } from '../../src/users/user-group.entity';
import { User } from '../../src/users/user.entity';
import { makeGroup, makeUser } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';

const HEADLINE = 'query($n: Int!) { users(first: $n) { edges { node { username groups { name permissions { codename } } } } } }';

interface HeadlineData {
  users: { edges: Array<{ node: { username: string; groups: Array<{ name: string; permissions: Array<{ codename: string }> }> } }> };
}

/**
 * The headline read path must cost the same few statements for any page size: the session
 * lookup, the caller's permissions, the page of users, and one statement for all their
 * memberships, groups and group permissions. Counted over real HTTP from what the server's
 * ORM actually ran.
 */
describe('Query.users batched loading', () => {
  let server: TestServer;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer();
    const em = server.db.orm.em.fork();
    const reader = await makeGroup(em, ['auth.view_user', 'auth.view_group', 'auth.view_permission'], 'a-readers');
    const caller = await makeUser(em, { username: 'a-caller', groups: [reader] });
    token = await server.signIn(caller);

    // 500 users, each in 3 of 30 groups (one of them twice: by an admin and by a rule id-less
    // second path is impossible, so a second admin group stands in), groups holding 20 permissions.
    const permissions = await em.find(Permission, {}, { orderBy: { id: 'asc' } });
    const groups: Group[] = [];
    for (let g = 0; g < 30; g++) {
      const group = em.create(Group, { name: `g${String(g).padStart(2, '0')}` });
      group.permissions.set(permissions.slice(g % 8, (g % 8) + 20));
      groups.push(group);
    }
    await em.flush();
    for (let u = 0; u < 500; u++) {
      const user = em.create(User, { username: `u${String(u).padStart(3, '0')}` });
      for (let k = 0; k < 3; k++) em.create(UserGroup, { user, group: groups[(u + k * 7) % 30], source: MembershipSource.ADMIN });
    }
    await em.flush();
  });
  afterAll(() => server.stop());

  for (const n of [5, 50, 500]) {
    it(`runs 4 statements in all (session, caller's permissions, page, memberships+groups+permissions) for first: ${n}`, async () => {
      server.resetQueries();
      const result = await server.graphql<HeadlineData>(HEADLINE, { n }, token);
      expect(result.errors).toBeUndefined();
      const edges = result.data!.users.edges;
      expect(edges).toHaveLength(n);
      expect(edges.find((e) => e.node.username.startsWith('u'))!.node.groups).toHaveLength(3);
      for (const group of edges.find((e) => e.node.username.startsWith('u'))!.node.groups) expect(group.permissions).toHaveLength(20);
      expect(server.queries).toHaveLength(4);
    });
  }
});
