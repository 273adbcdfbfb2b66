import { loadConfig } from '../../src/config/env';
import { makeUser } from '../support/factories';
import { LoginDocument, MySessionsDocument } from '../generated/graphql';
import { graphqlClient } from '../support/graphql-client';
import { startTestServer, TEST_PASSWORD, type TestServer } from '../support/server';

async function loginFrom(server: TestServer, forwardedFor: string): Promise<string> {
  const user = await makeUser(server.db.orm.em.fork());
  await server.signIn(user); // sets the test password
  const proxied = graphqlClient(server.url, { headers: { 'x-forwarded-for': forwardedFor } });
  const token = (await proxied(LoginDocument, { username: user.username, password: TEST_PASSWORD })).data!.login.token;
  const sessions = await server.graphql(MySessionsDocument, {}, token);
  return sessions.data!.mySessions.find((s) => s.current)!.ipAddress;
}

describe('TRUST_PROXY', () => {
  it('ignores X-Forwarded-For by default: the client address is the connection’s', async () => {
    const server = await startTestServer();
    try {
      expect(await loginFrom(server, '203.0.113.7')).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    } finally {
      await server.stop();
    }
  });

  it('takes the client address from X-Forwarded-For when the connecting proxy is trusted', async () => {
    const server = await startTestServer({ env: { TRUST_PROXY: 'loopback' } });
    try {
      expect(await loginFrom(server, '203.0.113.7')).toBe('203.0.113.7');
    } finally {
      await server.stop();
    }
  });

  it.each(['true', '0', '100', 'yes', 'deadbeef', '10.0.0.0/33', '10.0.0.0/8; drop table', '*'])(
    'refuses TRUST_PROXY=%j naming the variable',
    (value) => {
      expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY: expected false, a number of proxy hops/);
    },
  );

  it.each(['false', '1', '2', 'loopback', 'loopback, 10.0.0.0/8', '192.168.1.10', 'fd00::/8'])('accepts TRUST_PROXY=%j', (value) => {
    expect(loadConfig({ TRUST_PROXY: value }).TRUST_PROXY).toBe(value);
  });
});
