import { ConfigError, loadConfig } from '../../src/config/env';
import { seedReferenceGroups } from '../../src/groups/seed';
import { MAX_OPERATION_NAMES } from '../../src/metrics/metrics';
import { seedReferenceRules } from '../../src/sso/seed-rules';
import { LoginDocument, MeDocument, UsersDocument } from '../generated/graphql';
import { hashPassword } from '../../src/users/passwords';
import { makeUser } from '../support/factories';
import { freePort } from '../support/ports';
import { startTestServer, TEST_PASSWORD, type TestServer } from '../support/server';
import { startSsoTestBed, type SsoTestBed } from '../sso/support/sso-test-bed';

const TOKEN = 'metrics-token-0123456789abcdef';

/** One sample of the Prometheus text format. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the sample named `name` with exactly these labels (0 when there is none yet). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.find(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found?.value ?? 0;
}

async function scrape(url: string, token: string | null = TOKEN): Promise<Sample[]> {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(response.headers.get('cache-control')).toBe('no-store');
  return parse(await response.text());
}

/** How much each counter named moved across `act`. */
async function moved(url: string, act: () => Promise<unknown>, series: Array<[string, Record<string, string>]>): Promise<number[]> {
  const before = await scrape(url);
  await act();
  const after = await scrape(url);
  return series.map(([name, labels]) => value(after, name, labels) - value(before, name, labels));
}

describe('/metrics behind METRICS_TOKEN', () => {
  let server: TestServer;
  let metricsUrl: string;
  beforeAll(async () => {
    // PUBLIC_URL where it listens, so that the /login form's same-origin check passes.
    const port = await freePort();
    server = await startTestServer({ env: { METRICS_TOKEN: TOKEN, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } });
    metricsUrl = `${server.url}/metrics`;
  });
  afterAll(() => server?.stop());

  it('is served on PORT at /metrics', () => {
    expect(server.gatehouse.http.metricsUrl).toBe(metricsUrl);
  });

  it.each([
    ['no Authorization header', {}],
    ['a wrong token', { authorization: `Bearer ${TOKEN.slice(0, -1)}x` }],
    ['a longer token', { authorization: `Bearer ${TOKEN}0` }],
    ['the token as Basic credentials', { authorization: `Basic ${Buffer.from(`metrics:${TOKEN}`).toString('base64')}` }],
    ['the bare token', { authorization: TOKEN }],
  ])('refuses %s with 401 and no detail', async (_case, headers: Record<string, string>) => {
    const response = await fetch(metricsUrl, { headers });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await response.text()).toBe('');
  });

  it('serves process memory and the database pool in the Prometheus text format', async () => {
    const samples = await scrape(metricsUrl);
    expect(value(samples, 'process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
    expect(value(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(1_000_000);
    expect(value(samples, 'gatehouse_db_pool_connections_max')).toBe(10);
    expect(samples.some((s) => s.name === 'gatehouse_db_pool_connections_used')).toBe(true);
    expect(samples.some((s) => s.name === 'gatehouse_db_pool_pending_acquires')).toBe(true);
  });

  it('counts denials by permission at the enforcement point: FORBIDDEN signed in, UNAUTHENTICATED without a session', async () => {
    const { token } = await server.signInWith(['core.view_tweet']);
    const [forbidden, unauthenticated] = await moved(metricsUrl, async () => {
      const refused = await server.graphql(UsersDocument, { first: 1 }, token);
      expect(refused.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      const anonymous = await server.graphql(UsersDocument, { first: 1 });
      expect(anonymous.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    }, [
      ['gatehouse_graphql_denials_total', { code: 'FORBIDDEN', permission: 'auth.view_user' }],
      ['gatehouse_graphql_denials_total', { code: 'UNAUTHENTICATED', permission: 'auth.view_user' }],
    ]);
    expect([forbidden, unauthenticated]).toEqual([1, 1]);
  });

  it('counts password sign-ins by outcome and reason, through the mutation and the form', async () => {
    const user = await makeUser(server.db.orm.em.fork(), { username: 'metered' });
    await server.signIn(user); // sets TEST_PASSWORD
    const series: Array<[string, Record<string, string>]> = [
      ['gatehouse_sign_ins_total', { method: 'password', outcome: 'allowed', reason: '' }],
      ['gatehouse_sign_ins_total', { method: 'password', outcome: 'refused', reason: 'wrong_password' }],
      ['gatehouse_sign_ins_total', { method: 'password', outcome: 'refused', reason: 'unknown_user' }],
    ];
    const counts = await moved(
      metricsUrl,
      async () => {
        expect((await server.graphql(LoginDocument, { username: 'metered', password: TEST_PASSWORD })).data?.login.token).toBeTruthy();
        expect(
          (await server.graphql(LoginDocument, { username: 'metered', password: 'not the password' })).errors?.[0].extensions?.code,
        ).toBe('UNAUTHENTICATED');
        expect((await server.graphql(LoginDocument, { username: 'nobody-here', password: 'any password' })).errors).toHaveLength(1);
        const form = await fetch(`${server.url}/login`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
          body: new URLSearchParams({ username: 'metered', password: 'wrong again' }),
        });
        expect(form.status).toBe(401);
      },
      series,
    );
    expect(counts).toEqual([1, 2, 1]);
  });

  it('counts a password sign-in refused by the account’s throttle as throttled', async () => {
    await makeUser(server.db.orm.em.fork(), { username: 'guessed', password: await hashPassword('the real password') });
    const [wrong, throttled] = await moved(metricsUrl, async () => {
      for (let attempt = 0; attempt < 6; attempt++)
        await server.graphql(LoginDocument, { username: 'guessed', password: `guess ${attempt}` });
    }, [
      ['gatehouse_sign_ins_total', { method: 'password', outcome: 'refused', reason: 'wrong_password' }],
      ['gatehouse_sign_ins_total', { method: 'password', outcome: 'refused', reason: 'throttled' }],
    ]);
    expect([wrong, throttled]).toEqual([5, 1]);
  });

  it('counts requests and observes their latency per operation name; anonymous and unparsable ones are collapsed', async () => {
    const [named, latencyCount, anonymous, unknown] = await moved(metricsUrl, async () => {
      await server.graphql(MeDocument);
      await server.graphql('{ me { permissions } }');
      await server.graphql('{ me {');
    }, [
      ['gatehouse_graphql_requests_total', { operation: 'Me', type: 'query', outcome: 'success' }],
      ['gatehouse_graphql_request_duration_seconds_count', { operation: 'Me', type: 'query' }],
      ['gatehouse_graphql_requests_total', { operation: 'anonymous', type: 'query', outcome: 'success' }],
      ['gatehouse_graphql_requests_total', { operation: 'unknown', type: 'unknown', outcome: 'error' }],
    ]);
    expect([named, latencyCount, anonymous, unknown]).toEqual([1, 1, 1, 1]);
  });

  it(`keeps at most ${MAX_OPERATION_NAMES} operation names; the ones after count as other`, async () => {
    for (let i = 0; i < MAX_OPERATION_NAMES + 20; i++) await server.graphql(`query Flood${i} { __typename }`);
    const samples = await scrape(metricsUrl);
    const operations = new Set(samples.filter((s) => s.name === 'gatehouse_graphql_requests_total').map((s) => s.labels.operation));
    operations.delete('anonymous');
    operations.delete('unknown');
    operations.delete('other');
    expect(operations.size).toBe(MAX_OPERATION_NAMES);
    expect(
      value(samples, 'gatehouse_graphql_requests_total', { operation: 'other', type: 'query', outcome: 'success' }),
    ).toBeGreaterThanOrEqual(20);
  });

  it('keeps a registry per server: a sign-in on one does not count on another in the same process', async () => {
    const other = await startTestServer({ env: { METRICS_TOKEN: TOKEN } });
    try {
      const user = await makeUser(server.db.orm.em.fork());
      const series: Array<[string, Record<string, string>]> = [
        ['gatehouse_sign_ins_total', { method: 'password', outcome: 'allowed', reason: '' }],
      ];
      const [onOther] = await moved(`${other.url}/metrics`, () => server.signIn(user), series);
      expect(onOther).toBe(0);
    } finally {
      await other.stop();
    }
  });
});

describe('/metrics on METRICS_PORT', () => {
  it('is served on its own loopback port, without a token, and not on PORT', async () => {
    const server = await startTestServer({ env: { METRICS_PORT: '0' } });
    try {
      const metricsUrl = server.gatehouse.http.metricsUrl!;
      expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(new URL(metricsUrl).port).not.toBe(new URL(server.url).port);
      await server.graphql(MeDocument);
      expect(
        value(await scrape(metricsUrl, null), 'gatehouse_graphql_requests_total', { operation: 'Me', type: 'query', outcome: 'success' }),
      ).toBe(1);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
      expect((await fetch(new URL('/graphql', metricsUrl))).status).toBe(404);
    } finally {
      await server.stop();
    }
  });

  it('requires the token there too when METRICS_TOKEN is set', async () => {
    const server = await startTestServer({ env: { METRICS_PORT: '0', METRICS_TOKEN: TOKEN } });
    try {
      const metricsUrl = server.gatehouse.http.metricsUrl!;
      expect((await fetch(metricsUrl)).status).toBe(401);
      expect(value(await scrape(metricsUrl), 'gatehouse_db_pool_connections_max')).toBe(10);
      expect((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    } finally {
      await server.stop();
    }
  });
});

describe('/metrics when neither METRICS_TOKEN nor METRICS_PORT is set', () => {
  it('is not served', async () => {
    const server = await startTestServer();
    try {
      expect(server.gatehouse.http.metricsUrl).toBeNull();
      expect((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    } finally {
      await server.stop();
    }
  });
});

describe('metrics configuration', () => {
  it.each([
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN: expected a secret of 16 to 256 printable characters without spaces'],
    [{ METRICS_TOKEN: 'has a space in the middle' }, 'METRICS_TOKEN: expected a secret of 16 to 256 printable characters without spaces'],
    [{ METRICS_PORT: 'x' }, 'METRICS_PORT: expected a port number from 0 to 65535'],
    [{ METRICS_PORT: '4000', PORT: '4000' }, 'METRICS_PORT: expected a port other than PORT'],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('never repeats the token in the message', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'secret with a space' })).toThrow(
      'METRICS_TOKEN: expected a secret of 16 to 256 printable characters without spaces, e.g. from `openssl rand -hex 32` (got "***")',
    );
  });
});

describe('/metrics and single sign-on', () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed({ env: { METRICS_TOKEN: TOKEN } });
    const em = bed.server.db.orm.em.fork();
    await seedReferenceGroups(em);
    await seedReferenceRules(em);
  });
  afterAll(() => bed?.stop());

  it('counts sign-ins by outcome and reason, and the mapping-rule evaluations behind them', async () => {
    bed.idp.directory.set('mapped', { groups: ['B2E_APP_MANAGEMENT_VIEWER'] });
    bed.idp.directory.set('unmapped', { groups: ['SOMETHING_ELSE'] });
    const counts = await moved(
      `${bed.publicUrl}/metrics`,
      async () => {
        expect((await bed.signIn('mapped')).sessionToken).toBeTruthy();
        const refused = await bed.signIn('unmapped');
        expect(refused.response.headers.get('location')).toBe('/login?error=access_not_granted');
      },
      [
        ['gatehouse_sign_ins_total', { method: 'sso', outcome: 'allowed', reason: '' }],
        ['gatehouse_sign_ins_total', { method: 'sso', outcome: 'refused', reason: 'access_not_granted' }],
        ['gatehouse_mapping_evaluations_total', { via: 'login', result: 'matched' }],
        ['gatehouse_mapping_evaluations_total', { via: 'login', result: 'no_match' }],
        ['gatehouse_mapping_rules_evaluated_total', {}],
      ],
    );
    expect(counts).toEqual([1, 1, 1, 1, 8]);
  });
});
