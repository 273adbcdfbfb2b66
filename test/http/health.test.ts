import { MeDocument } from '../generated/graphql';
import { admin } from '../support/database';
import { startTestServer, type TestServer } from '../support/server';

/** Nothing internal in a response body: no stack frames, no file paths, no SQL. */
function expectNoInternals(body: string): void {
  expect(body).not.toMatch(/\bat .+:\d+:\d+/);
  expect(body).not.toMatch(/\/(work|src|node_modules)\//);
  expect(body).not.toMatch(/select|does not exist|ECONNREFUSED|terminat/i);
}

describe('the HTTP service', () => {
  let server: TestServer;
  let url: string;

  beforeAll(async () => {
    server = await startTestServer();
    url = server.url;
  });
  afterAll(() => server?.stop());

  describe('GET /healthz', () => {
    it('answers 200 while the process is up', async () => {
      const response = await fetch(`${url}/healthz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok' });
    });
  });

  describe('GET /readyz', () => {
    it('answers 200 naming the kind of database when it is reachable', async () => {
      const response = await fetch(`${url}/readyz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ready', database: 'postgresql' });
    });
  });

  describe('unknown paths', () => {
    it('answer 404 with JSON', async () => {
      for (const [method, path] of [
        ['GET', '/no-such-page'],
        ['GET', '/admin'],
        ['POST', '/readyz'],
        ['GET', '/graphql/../../etc/passwd'],
      ]) {
        const response = await fetch(`${url}${path}`, { method });
        expect(response.status).toBe(404);
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        expect(await response.json()).toEqual({ error: 'not found' });
      }
    });
  });

  describe('POST /graphql', () => {
    // Bodies broken on purpose, written by hand: no GraphQL client could send them.
    it('answers malformed JSON with 400 and no stack trace', async () => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query": "{ me { user { username } } }"',
      });
      expect(response.status).toBe(400);
      const body = await response.text();
      expectNoInternals(body);
      expect(body).not.toContain('SyntaxError');
    });

    it('answers a body that is not JSON at all with 400', async () => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: 'query { me }',
      });
      expect(response.status).toBe(400);
      expectNoInternals(await response.text());
    });

    it('answers a valid query: me is null without a session', async () => {
      const result = await server.graphql(MeDocument);
      expect(result.status).toBe(200);
      expect(result.body).toEqual({ data: { me: null } });
    });
  });

  // Last: it takes the database away for real.
  describe('when the database becomes unreachable', () => {
    it('/readyz answers 503 {status: unavailable} without detail, /healthz still 200, and /readyz recovers when it is back', async () => {
      await admin((client) => client.query(`drop database "${server.db.name}" with (force)`));
      const started = Date.now();
      const down = await fetch(`${url}/readyz`);
      expect(down.status).toBe(503);
      const body = await down.text();
      expect(JSON.parse(body)).toMatchObject({ status: 'unavailable' });
      expectNoInternals(body);
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);

      await admin((client) => client.query(`create database "${server.db.name}" template "${process.env.GATEHOUSE_TEST_TEMPLATE}"`));
      const up = await fetch(`${url}/readyz`);
      expect(up.status).toBe(200);
    });
  });
});
