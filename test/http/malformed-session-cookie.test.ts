import { makeUser } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';

/*
 * Regression: a session cookie whose value is not valid percent-encoding (`%E0%A4%A`) made the
 * cookie reader throw, and every request carrying it ended in INTERNAL_SERVER_ERROR (or a 500
 * from POST /oidc/logout/). It is a cookie that names no session: the request is anonymous.
 */
const PUBLIC_URL = 'http://gatehouse.test';

describe('a malformed session cookie', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { PUBLIC_URL: PUBLIC_URL } });
  });
  afterAll(() => server?.stop());

  const MALFORMED = ['%E0%A4%A', '%', '%zz%E0%A4%A-and-then-enough-characters-for-a-token'];

  const post = (cookie: string, query: string) =>
    fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ query }),
    });

  it.each(MALFORMED)('(%s) is no session: a guarded field is UNAUTHENTICATED, not INTERNAL_SERVER_ERROR', async (value) => {
    const response = await post(`gatehouse_session=${value}`, '{ users { totalCount } }');
    const body = (await response.json()) as { data: unknown; errors?: Array<{ extensions: { code: string } }> };
    expect(response.status).toBe(200);
    expect(body.errors?.map((e) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
  });

  it.each(MALFORMED)('(%s) is no session: the public `me` answers null, without an error', async (value) => {
    const response = await post(`gatehouse_session=${value}`, '{ me { user { username } } }');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { me: null } });
  });

  it('beside a valid session cookie does not matter: another malformed cookie leaves the session signed in', async () => {
    const user = await makeUser(server.db.orm.em.fork());
    const token = await server.signIn(user);
    const response = await post(`other=%E0%A4%A; gatehouse_session=${token}`, '{ me { user { username } } }');
    expect(await response.json()).toEqual({ data: { me: { user: { username: user.username } } } });
  });

  it('on POST /oidc/logout/ is no session: 303 to /login, not a 500', async () => {
    const response = await fetch(`${server.url}/oidc/logout/`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: PUBLIC_URL, cookie: 'gatehouse_session=%E0%A4%A' },
    });
    expect([response.status, response.headers.get('location')]).toEqual([303, '/login']);
  });
});
