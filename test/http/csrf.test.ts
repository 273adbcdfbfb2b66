import { Session } from '../../src/sessions/session.entity';
import { makeUser } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';

// A cookie-signed-in browser must not be made to run an operation by another site: Apollo's CSRF
// prevention refuses "simple" requests (form posts, plain GETs without a preflight header), and
// mutations are never run over GET. The requests are written by hand, not sent through the
// GraphQL client: their encodings and methods are what is tested.
describe('POST/GET /graphql with the session cookie from another site', () => {
  let server: TestServer;
  let token: string;
  let userId: number;
  beforeAll(async () => {
    server = await startTestServer();
    const user = await makeUser(server.db.orm.em.fork());
    userId = user.id;
    token = await server.signIn(user);
  });
  afterAll(() => server.stop());

  const sessions = () => server.db.orm.em.fork().count(Session, { user: userId });

  it.each([
    ['a form post (application/x-www-form-urlencoded)', 'application/x-www-form-urlencoded', 'query=mutation%20%7B%20logout%20%7D'],
    ['a text/plain post', 'text/plain', JSON.stringify({ query: 'mutation { logout }' })],
  ])('refuses %s and runs nothing', async (_what, contentType, body) => {
    const before = await sessions();
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': contentType, cookie: `gatehouse_session=${token}` },
      body,
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/Cross-Site Request Forgery/);
    expect(await sessions()).toBe(before);
  });

  it('refuses a GET without a preflight-forcing header, and never runs a mutation over GET', async () => {
    const before = await sessions();
    const simple = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ me { user { id } } }')}`, {
      headers: { cookie: `gatehouse_session=${token}` },
    });
    expect(simple.status).toBe(400);
    expect(await simple.text()).toMatch(/Cross-Site Request Forgery/);
    const mutation = await fetch(`${server.url}/graphql?query=${encodeURIComponent('mutation { logout }')}`, {
      headers: { cookie: `gatehouse_session=${token}`, 'apollo-require-preflight': 'true' },
    });
    expect(mutation.status).toBe(405);
    expect(await sessions()).toBe(before);
  });
});
