import { LoginThrottle } from '../../src/sessions/login-throttle.entity';
import { AuthMethod, Session } from '../../src/sessions/session.entity';
import { purgeSignInEvents } from '../../src/audit/audit.service';
import { ActionFlag, LogEntry, LogEvent } from '../../src/audit/log-entry.entity';
import { purgeExpiredRows, startHousekeeping } from '../../src/db/housekeeping';
import { hashToken, type SessionPolicy } from '../../src/sessions/sessions.service';
import { LoginTransaction } from '../../src/sso/login-transaction.entity';
import { SeenLogoutToken } from '../../src/sso/logout-token.entity';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { makeUser } from '../support/factories';
import { captureLogs } from '../support/logs';
import { startTestServer } from '../support/server';
import { sleep, waitFor } from '../support/wait';

const POLICY: SessionPolicy = { idleTimeout: 3600, absoluteTimeout: 7 * 24 * 3600 };
const MINUTE = 60_000;

type Em = ReturnType<TestDatabase['orm']['em']['fork']>;

let counter = 0;

/** A session of a new user, dated relative to now (its user agent names it). */
async function insertSession(em: Em, name: string, times: { createdAgo: number; lastSeenAgo: number; expiresIn: number }): Promise<string> {
  const user = await makeUser(em);
  const now = Date.now();
  const session = em.create(Session, {
    tokenHash: hashToken(`${name}-${++counter}-token-0123456789`),
    user,
    authMethod: AuthMethod.PASSWORD,
    createdAt: new Date(now - times.createdAgo),
    lastSeenAt: new Date(now - times.lastSeenAgo),
    expiresAt: new Date(now + times.expiresIn),
    userAgent: name,
  });
  await em.flush();
  return session.id;
}

async function insertTransaction(em: Em, state: string, expiresIn: number): Promise<void> {
  const now = Date.now();
  await em.insert(LoginTransaction, {
    state,
    nonce: 'n',
    codeVerifier: 'v',
    next: '/graphql',
    createdAt: new Date(now - MINUTE),
    expiresAt: new Date(now + expiresIn),
  });
}

async function insertCounter(em: Em, key: string, expiresIn: number | null): Promise<void> {
  await em.insert(LoginThrottle, { key, points: 3, expire: expiresIn === null ? null : String(Date.now() + expiresIn) });
}

async function insertLogoutToken(em: Em, jti: string, expiresIn: number): Promise<void> {
  await em.insert(SeenLogoutToken, { issuer: 'https://idp.example.com', jti, expiresAt: new Date(Date.now() + expiresIn) });
}

async function remaining(em: Em) {
  return {
    sessions: (await em.find(Session, {}, { orderBy: { userAgent: 'asc' } })).map((s) => s.userAgent),
    transactions: (await em.find(LoginTransaction, {}, { orderBy: { state: 'asc' } })).map((t) => t.state),
    counters: (await em.find(LoginThrottle, {}, { orderBy: { key: 'asc' } })).map((c) => c.key),
    logoutTokens: (await em.find(SeenLogoutToken, {}, { orderBy: { jti: 'asc' } })).map((t) => t.jti),
  };
}

describe('purgeExpiredRows', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());
  const em = () => db.orm.em.fork();

  it('deletes expired sessions, login transactions, throttle counters and logout token IDs, and keeps the live ones', async () => {
    await insertSession(em(), 'live', { createdAgo: MINUTE, lastSeenAgo: MINUTE, expiresIn: 60 * MINUTE });
    await insertSession(em(), 'past-absolute', { createdAgo: 8 * 24 * 60 * MINUTE, lastSeenAgo: MINUTE, expiresIn: -MINUTE });
    await insertSession(em(), 'past-idle', { createdAgo: 3 * 60 * MINUTE, lastSeenAgo: 61 * MINUTE, expiresIn: 60 * MINUTE });
    await insertTransaction(em(), 'live-transaction-0000000', 5 * MINUTE);
    await insertTransaction(em(), 'old-transaction-00000000', -1000);
    await insertCounter(em(), 'login:live', MINUTE);
    await insertCounter(em(), 'login:old', -1000);
    await insertCounter(em(), 'sso_attempt:127.0.0.1', -1000);
    await insertCounter(em(), 'sso_attempt:no-expiry', null);
    await insertLogoutToken(em(), 'jti-live', MINUTE);
    await insertLogoutToken(em(), 'jti-old', -1000);

    expect(await purgeExpiredRows(em(), POLICY)).toEqual({
      sessions: 2,
      loginTransactions: 1,
      throttleCounters: 2,
      logoutTokens: 1,
      signInEvents: 0,
    });
    expect(await remaining(em())).toEqual({
      sessions: ['live'],
      transactions: ['live-transaction-0000000'],
      counters: ['login:live', 'sso_attempt:no-expiry'],
      logoutTokens: ['jti-live'],
    });
    // A second run finds nothing more.
    expect(await purgeExpiredRows(em(), POLICY)).toEqual({
      sessions: 0,
      loginTransactions: 0,
      throttleCounters: 0,
      logoutTokens: 0,
      signInEvents: 0,
    });
  });
});

describe('sign-in event retention (AUDIT_SIGNIN_RETENTION_DAYS)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());
  const em = () => db.orm.em.fork();
  const DAY = 24 * 60 * MINUTE;

  /** Log entries dated `daysAgo` (plus a minute), named by their objectRepr. */
  async function insertEntries(specs: Array<[name: string, daysAgo: number, event: LogEvent | null]>): Promise<void> {
    const now = Date.now();
    await em().insertMany(
      LogEntry,
      specs.map(([name, daysAgo, event]) => ({
        actionTime: new Date(now - daysAgo * DAY - MINUTE),
        appLabel: event === LogEvent.SIGN_OUT ? 'auth' : event ? 'sso' : 'core',
        model: event === LogEvent.SIGN_OUT ? 'session' : event ? 'login' : 'tweet',
        objectRepr: name,
        actionFlag: ActionFlag.CHANGE,
        event,
        changeMessage: [],
      })),
    );
  }
  const names = async () => (await em().find(LogEntry, {}, { orderBy: { objectRepr: 'asc' } })).map((e) => e.objectRepr);

  afterEach(() => em().nativeDelete(LogEntry, {}));

  it('deletes only sign-in and sign-out events older than the retention, in batches, and keeps every admin change', async () => {
    await insertEntries([
      ...Array.from({ length: 7 }, (_, i): [string, number, LogEvent] => [`old-sign-in-${i}`, 91 + i, LogEvent.SIGN_IN]),
      ['old-sign-out', 400, LogEvent.SIGN_OUT],
      ['recent-sign-in', 89, LogEvent.SIGN_IN],
      ['recent-sign-out', 1, LogEvent.SIGN_OUT],
      ['ancient-admin-change', 3000, null],
      ['old-admin-change', 91, null],
    ]);
    const batches: number[] = [];
    expect(await purgeSignInEvents(em(), 90, { batchSize: 3, onBatch: (n) => batches.push(n) })).toBe(8);
    expect(batches).toEqual([3, 3, 2]);
    expect(await names()).toEqual(['ancient-admin-change', 'old-admin-change', 'recent-sign-in', 'recent-sign-out']);
  });

  it('deletes at most batchSize rows per statement, and stops at the first batch that is not full', async () => {
    await insertEntries(Array.from({ length: 5 }, (_, i): [string, number, LogEvent] => [`sign-in-${i}`, 10 + i, LogEvent.SIGN_IN]));
    const batches: number[] = [];
    await purgeSignInEvents(em(), 12, { batchSize: 1, onBatch: (n) => batches.push(n) });
    expect(batches).toEqual([1, 1, 1, 0]);
    expect(await names()).toEqual(['sign-in-0', 'sign-in-1']);
  });

  it('follows AUDIT_SIGNIN_RETENTION_DAYS through purgeExpiredRows, the housekeeping’s run', async () => {
    await insertEntries([
      ['ten-days', 10, LogEvent.SIGN_IN],
      ['three-days', 3, LogEvent.SIGN_OUT],
      ['admin', 30, null],
    ]);
    expect((await purgeExpiredRows(em(), POLICY, 90)).signInEvents).toBe(0);
    expect((await purgeExpiredRows(em(), POLICY, 7)).signInEvents).toBe(1);
    expect(await names()).toEqual(['admin', 'three-days']);
  });

  it('reads AUDIT_SIGNIN_RETENTION_DAYS in a started Gatehouse: its housekeeping deletes the sign-ins older than the setting', async () => {
    const server = await startTestServer({
      db,
      env: { AUDIT_SIGNIN_RETENTION_DAYS: '5' },
      housekeeping: { firstRunMs: 20, intervalMs: 50 },
    });
    try {
      await insertEntries([
        ['six-days', 6, LogEvent.SIGN_IN],
        ['four-days', 4, LogEvent.SIGN_IN],
        ['admin', 6, null],
      ]);
      await waitFor(async () => (await em().count(LogEntry, { objectRepr: 'six-days' })) === 0);
      expect(await names()).toEqual(['admin', 'four-days']);
    } finally {
      await server.stop();
    }
  });
});

describe('startHousekeeping', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());
  const em = () => db.orm.em.fork();

  it('purges on its schedule, and not once stopped', async () => {
    const { logger, records } = captureLogs();
    const housekeeping = startHousekeeping({ fork: em, policy: POLICY, logger, schedule: { firstRunMs: 20, intervalMs: 50 } });
    try {
      await insertTransaction(em(), 'first-run-0000000000000', -1000);
      await waitFor(async () => (await em().count(LoginTransaction, {})) === 0);
      // It keeps running: a row that expires later is purged by a later run.
      await insertCounter(em(), 'login:later', -1000);
      await waitFor(async () => (await em().count(LoginThrottle, {})) === 0);
      // The run that deleted the counter logs once its last purge (logout token IDs) is done.
      await waitFor(() => records.filter((r) => r.msg === 'housekeeping: purged expired rows').length >= 2);
      expect(records.filter((r) => r.msg === 'housekeeping: purged expired rows').length).toBeGreaterThanOrEqual(2);
    } finally {
      await housekeeping.stop();
    }
    await insertTransaction(em(), 'after-stop-000000000000', -1000);
    await sleep(300);
    expect(await em().count(LoginTransaction, {})).toBe(1);
  });

  it('logs a failed purge and keeps going', async () => {
    const { logger, records } = captureLogs();
    let calls = 0;
    const broken = () => {
      calls += 1;
      if (calls === 1) throw new Error('database unreachable');
      return em();
    };
    const housekeeping = startHousekeeping({ fork: broken, policy: POLICY, logger, schedule: { firstRunMs: 10, intervalMs: 30 } });
    try {
      await insertTransaction(em(), 'after-failure-0000000000', -1000);
      await waitFor(async () => (await em().count(LoginTransaction, { state: 'after-failure-0000000000' })) === 0);
    } finally {
      await housekeeping.stop();
    }
    expect(records.find((r) => r.msg === 'housekeeping: purging expired rows failed; retrying at the next run')?.err?.message).toBe(
      'database unreachable',
    );
  });
});

describe('Gatehouse housekeeping', () => {
  it('purges expired rows after start, and stop() ends it (no timer left behind)', async () => {
    const server = await startTestServer({ logs: true, housekeeping: { firstRunMs: 50, intervalMs: 100 } });
    const db = server.db;
    let stopped = false;
    try {
      const em = () => db.orm.em.fork();
      await insertSession(em(), 'live', { createdAgo: MINUTE, lastSeenAgo: MINUTE, expiresIn: 60 * MINUTE });
      await insertSession(em(), 'expired', { createdAgo: 8 * 24 * 60 * MINUTE, lastSeenAgo: MINUTE, expiresIn: -MINUTE });
      // The run deletes the sessions first, then the other tables, then logs: wait for the whole run.
      const purgeLogged = () => server.logs.find((r) => r.msg === 'housekeeping: purged expired rows');
      await waitFor(async () => (await em().count(Session, {})) === 1 && purgeLogged() !== undefined);
      expect((await em().find(Session, {})).map((s) => s.userAgent)).toEqual(['live']);
      expect(purgeLogged()?.purged).toMatchObject({ sessions: 1 });

      await server.gatehouse.stop();
      stopped = true;
      // After stop() the database is closed: a run left scheduled would log a failure.
      const logsAtStop = server.logs.length;
      await sleep(400);
      expect(server.logs.slice(logsAtStop).filter((r) => r.msg.startsWith('housekeeping'))).toEqual([]);
    } finally {
      if (!stopped) await server.gatehouse.stop();
      await db.drop();
    }
  });
});
