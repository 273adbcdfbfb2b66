import { startGatehouse, type Gatehouse } from '../../src/app';
import { loadConfig } from '../../src/config/env';
import { createLogger } from '../../src/config/logger';
import type { HousekeepingSchedule } from '../../src/db/housekeeping';
import type { ProviderHandle } from '../../src/sso/sso.service';
import type { PermissionName } from '../../src/permissions/registry';
import type { User } from '../../src/users/user.entity';
import { hashPassword } from '../../src/users/passwords';
import { LoginDocument } from '../generated/graphql';
import { createTestDatabase, type TestDatabase } from './database';
import { makeGroup, makeUser, type UserSpec } from './factories';
import { graphqlClient, type GraphQLClient } from './graphql-client';
import { captureLogs, type LogRecord } from './logs';

/** The password `signIn` gives a user unless told otherwise. */
export const TEST_PASSWORD = 'correct horse battery staple';

/** A signed-in user and their session token. */
export interface SignedIn {
  user: User;
  token: string;
}

/** A running Gatehouse on a database of its own, reached over real HTTP. */
export interface TestServer {
  readonly url: string;
  readonly db: TestDatabase;
  readonly gatehouse: Gatehouse;
  /** SQL statements the server ran since the last `resetQueries()`. */
  readonly queries: string[];
  resetQueries(): void;
  /** Its log lines, when started with `logs: true` (empty otherwise). */
  readonly logs: LogRecord[];
  /** POSTs an operation to /graphql (see graphql-client.ts); `token` goes as `Authorization: Bearer`. */
  readonly graphql: GraphQLClient;
  /** Signs `user` in through the real `login` mutation (setting a password first) and returns the session token. */
  signIn(user: User, password?: string): Promise<string>;
  /** A new user holding `perms` through a new group (never directly, never a superuser), signed in; `spec` adds to the user. */
  signInWith(perms: readonly PermissionName[], spec?: UserSpec): Promise<SignedIn>;
  /** A new active staff superuser in no group, signed in. */
  signInAsSuperuser(): Promise<SignedIn>;
  /** Stops Gatehouse, and drops the database unless it was handed in with `db`. */
  stop(): Promise<void>;
}

export interface TestServerOptions {
  /** Configuration over the test defaults (NODE_ENV=test, 127.0.0.1, a free port, silent logs). */
  env?: Record<string, string>;
  /** Whether the access directives are enforced (default: yes). */
  enforce?: boolean;
  /** Keep the log lines, at debug level, in `server.logs`. */
  logs?: boolean;
  housekeeping?: HousekeepingSchedule;
  /** Run on this database (another instance of a service sharing it) instead of a new one. */
  db?: TestDatabase;
  /** Single sign-on through a provider Gatehouse starts itself (the development IdP), as `npm start` does without OIDC_ISSUER. */
  sso?: { devProvider?: () => Promise<ProviderHandle> };
}

/**
 * The one way the tests start Gatehouse in-process: on a fresh database cloned from the migrated
 * template (test/support/database.ts), listening on 127.0.0.1, with the ORM's statements counted.
 * Rejects, dropping the database it made, when Gatehouse refuses to start.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const db = options.db ?? (await createTestDatabase());
  const queries: string[] = [];
  const captured = options.logs ? captureLogs() : null;
  let gatehouse: Gatehouse;
  try {
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: db.url,
      ...(captured ? {} : { LOG_LEVEL: 'silent' }),
      ...options.env,
    });
    gatehouse = await startGatehouse(config, captured?.logger ?? createLogger(config.LOG_LEVEL), {
      onQuery: (sql) => queries.push(sql),
      enforce: options.enforce,
      housekeeping: options.housekeeping,
      sso: options.sso,
    });
  } catch (error) {
    if (!options.db) await db.drop();
    throw error;
  }
  const url = gatehouse.http.url;
  const graphql = graphqlClient(url);

  const signIn: TestServer['signIn'] = async (user, password = TEST_PASSWORD) => {
    await db.orm.em.fork().nativeUpdate('User', { id: user.id }, { password: await hashPassword(password) });
    const result = await graphql(LoginDocument, { username: user.username, password });
    if (!result.data?.login) throw new Error(`sign-in of ${user.username} failed: ${JSON.stringify(result.errors)}`);
    return result.data.login.token;
  };

  return {
    url,
    db,
    gatehouse,
    queries,
    resetQueries: () => {
      queries.length = 0;
    },
    logs: captured?.records ?? [],
    graphql,
    signIn,
    async signInWith(perms, spec = {}) {
      const em = db.orm.em.fork();
      const group = await makeGroup(em, perms);
      const user = await makeUser(em, { ...spec, groups: [group, ...(spec.groups ?? [])] });
      return { user, token: await signIn(user) };
    },
    async signInAsSuperuser() {
      const user = await makeUser(db.orm.em.fork(), { isSuperuser: true, isStaff: true });
      return { user, token: await signIn(user) };
    },
    async stop() {
      await gatehouse.stop();
      if (!options.db) await db.drop();
    },
  };
}
