import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collect, expectOneLine, gatehouse, spawnGatehouse } from '../cli/run-gatehouse';
import { MeDocument } from '../generated/graphql';
import { graphqlClient } from '../support/graphql-client';
import { startGatehouseProcess, type GatehouseProcess } from '../support/gatehouse-process';

// The zero-set-up default: no DATABASE_URL, so every command runs on the embedded PostgreSQL
// (PGlite) in DATA_DIR. The steps build on each other and run in order.
jest.setTimeout(120_000);

describe('the embedded database (no DATABASE_URL)', () => {
  let dataDir: string;
  const env = () => ({ DATA_DIR: dataDir });
  const lockFile = () => path.join(dataDir, 'pglite.lock');

  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-embedded-'));
  });
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('migrate creates the database in DATA_DIR and applies every migration', async () => {
    const result = await gatehouse(['migrate'], env());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^applied \d+ migration\(s\): Migration\w+/);
    expect(result.stdout).toMatch(/permissions: \d+ created, 0 renamed\n$/);
    expect(fs.existsSync(path.join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);
    expect(fs.existsSync(lockFile())).toBe(false);
  });

  it('seed and createsuperuser work on it', async () => {
    const seed = await gatehouse(['seed'], env());
    expect(seed.code).toBe(0);
    expect(seed.stdout.split('\n')[0]).toBe('created groups: viewer, business, support, developer');
    const create = await gatehouse(
      ['createsuperuser', '--no-input', '--username', 'root', '--email', 'root@example.com', '--password', 'embedded password'],
      env(),
    );
    expect(create).toEqual({ code: 0, stdout: 'superuser "root" created\n', stderr: '' });
  });

  describe('gatehouse serve', () => {
    // `npm start` with nothing but DATA_DIR: development, the embedded database and the
    // development IdP on PORT+1.
    let server: GatehouseProcess;
    let url: string;
    let stopped: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;

    beforeAll(async () => {
      server = await startGatehouseProcess(env(), 90_000);
      url = server.url;
    });
    afterAll(() => (stopped ??= server?.stop(1000)));

    it('is ready on the embedded database', async () => {
      const response = await fetch(`${url}/readyz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ready', database: 'embedded' });
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
    });

    it('answers GraphQL: me is null without a session', async () => {
      const result = await graphqlClient(url)(MeDocument);
      expect(result.status).toBe(200);
      expect(result.body).toEqual({ data: { me: null } });
    });

    it('holds the data directory: a command beside it goes through it, and the server keeps serving', async () => {
      expect(Number(fs.readFileSync(lockFile(), 'utf8'))).toBe(server.pid);
      const second = await gatehouse(['migrate'], env());
      expect(second).toEqual({ code: 0, stdout: 'no migrations to apply\npermissions up to date\n', stderr: '' });
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    });

    it('stops on SIGTERM with exit 0, closing the database and releasing the lock', async () => {
      const { code } = await (stopped = server.stop(60_000));
      expect(code).toBe(0);
      expect(server.stderr()).not.toMatch(/error|^\s+at /im);
      expect(fs.existsSync(lockFile())).toBe(false);
    });
  });

  it('keeps its data across a restart: the superuser is still there', async () => {
    const again = await gatehouse(['createsuperuser', '--no-input', '--username', 'root', '--password', 'another password'], env());
    expect(again.code).toBe(1);
    expect(expectOneLine(again.stderr)).toBe('gatehouse createsuperuser: the username "root" is already taken');
    const seed = await gatehouse(['seed'], env());
    expect(seed.stdout).toBe('nothing to do: the reference groups are already seeded\n');
  });

  it('takes over the lock left behind by a process that was killed', async () => {
    const dead = spawnGatehouse(['--help']);
    await collect(dead);
    fs.writeFileSync(lockFile(), String(dead.pid));
    const result = await gatehouse(['check'], env());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'configuration ok (database: embedded)\ndatabase ok: migrated, schema matches the entities, permissions in sync\n',
    );
    expect(fs.existsSync(lockFile())).toBe(false);
  });
});
