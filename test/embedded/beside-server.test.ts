import fs from 'node:fs';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { collect, expectOneLine, gatehouse, query, spawnGatehouse } from '../cli/run-gatehouse';
import { DeleteGroupMappingRuleDocument, GroupMappingRulesDocument, LoginDocument, MyAccountDocument } from '../generated/graphql';
import { graphqlClient } from '../support/graphql-client';
import { startGatehouseProcess, type GatehouseProcess } from '../support/gatehouse-process';
import { sleep, waitFor } from '../support/wait';

// `npm start` holds the embedded database; `gatehouse` commands run beside it as separate
// processes and go through the server's own connection. The steps build on each other.
jest.setTimeout(120_000);

/** A bare PostgreSQL wire-protocol connection, to send an extended-protocol exchange in pieces as a slow client would. */
class RawConnection {
  private buffer = Buffer.alloc(0);
  private messages: Array<{ type: string; body: Buffer }> = [];
  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 5 && this.buffer.length >= 1 + this.buffer.readInt32BE(1)) {
        const length = this.buffer.readInt32BE(1);
        this.messages.push({ type: String.fromCharCode(this.buffer[0]), body: this.buffer.subarray(5, 1 + length) });
        this.buffer = this.buffer.subarray(1 + length);
      }
    });
  }

  static async open(port: number): Promise<RawConnection> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const connection = new RawConnection(socket);
    const body = Buffer.concat([
      int32(196608),
      cstring('user'),
      cstring('postgres'),
      cstring('database'),
      cstring('postgres'),
      Buffer.from([0]),
    ]);
    socket.write(Buffer.concat([int32(body.length + 4), body]));
    await connection.take('Z');
    return connection;
  }

  write(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages));
  }

  has(type: string): boolean {
    return this.messages.some((m) => m.type === type);
  }

  /** Waits for a message of `type` and returns everything received up to it (an error fails). */
  async take(type: string): Promise<Array<{ type: string; body: Buffer }>> {
    await waitFor(() => this.has(type), 30_000);
    const index = this.messages.findIndex((m) => m.type === type);
    const taken = this.messages.splice(0, index + 1);
    const error = taken.find((m) => m.type === 'E');
    if (error) throw new Error(`the server answered an error: ${error.body.toString('latin1').replace(/\0/g, ' ')}`);
    return taken;
  }

  close(): void {
    this.socket.destroy();
  }
}

const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const cstring = (s: string) => Buffer.from(`${s}\0`);
const message = (type: string, body: Buffer = Buffer.alloc(0)) => Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);
const parse = (sql: string) => message('P', Buffer.concat([cstring(''), cstring(sql), int16(0)]));
const bind = (values: string[]) =>
  message(
    'B',
    Buffer.concat([
      cstring(''),
      cstring(''),
      int16(0),
      int16(values.length),
      ...values.flatMap((v) => [int32(Buffer.byteLength(v)), Buffer.from(v)]),
      int16(0),
    ]),
  );
const DESCRIBE_PORTAL = message('D', Buffer.concat([Buffer.from('P'), cstring('')]));
const EXECUTE = message('E', Buffer.concat([cstring(''), int32(0)]));
const SYNC = message('S');
const FLUSH = message('H');
/** The first column of each DataRow, as text. */
const rows = (messages: Array<{ type: string; body: Buffer }>) =>
  messages.filter((m) => m.type === 'D').map((m) => m.body.subarray(6, 6 + m.body.readInt32BE(2)).toString());

interface ServerRecord {
  pid: number;
  host: string;
  port: number;
}

describe('gatehouse commands beside a running server on the embedded database', () => {
  let dataDir: string;
  let server: GatehouseProcess;
  const env = () => ({ DATA_DIR: dataDir });
  const lockFile = () => path.join(dataDir, 'pglite.lock');
  const recordFile = () => path.join(dataDir, 'pglite.server.json');
  const readRecord = () => JSON.parse(fs.readFileSync(recordFile(), 'utf8')) as ServerRecord;
  const databaseUrl = () => `postgres://postgres@127.0.0.1:${readRecord().port}/postgres`;
  let token: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-beside-'));
    server = await startGatehouseProcess(env(), 90_000);
  });
  afterAll(async () => {
    await server?.stop(5_000);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('records where the embedded database listens next to the lock, readable by its owner only', () => {
    expect(Number(fs.readFileSync(lockFile(), 'utf8'))).toBe(server.pid);
    const record = readRecord();
    expect(record).toEqual({ pid: server.pid, host: '127.0.0.1', port: expect.any(Number) });
    expect(fs.statSync(recordFile()).mode & 0o777).toBe(0o600);
  });

  it('createsuperuser works through it, and the superuser signs in over GraphQL at once', async () => {
    const result = await gatehouse(
      ['createsuperuser', '--no-input', '--username', 'root', '--email', 'root@example.com', '--password', 'beside the server'],
      env(),
    );
    expect(result).toEqual({ code: 0, stdout: 'superuser "root" created\n', stderr: '' });

    const client = graphqlClient(server.url);
    const login = await client(LoginDocument, { username: 'root', password: 'beside the server' });
    expect(login.errors).toBeUndefined();
    token = login.data!.login.token;
    const me = await client(MyAccountDocument, {}, token);
    expect(me.data?.me?.user).toMatchObject({ username: 'root', isSuperuser: true });
  });

  it('seed works through it: a reference rule deleted over GraphQL is created again and served at once', async () => {
    const client = graphqlClient(server.url);
    const rules = async () =>
      (await client(GroupMappingRulesDocument, { first: 50 }, token)).data!.groupMappingRules.edges.map((e) => e.node);
    const viewer = (await rules()).find((rule) => rule.pattern === 'B2E_APP_MANAGEMENT_VIEWER')!;
    const deleted = await client(DeleteGroupMappingRuleDocument, { id: viewer.id }, token);
    expect(deleted.errors).toBeUndefined();
    expect((await rules()).map((rule) => rule.pattern)).not.toContain('B2E_APP_MANAGEMENT_VIEWER');

    const seed = await gatehouse(['seed'], env());
    expect(seed).toEqual({ code: 0, stdout: 'created mapping rules: B2E_APP_MANAGEMENT_VIEWER → viewer\n', stderr: '' });
    expect((await rules()).find((rule) => rule.pattern === 'B2E_APP_MANAGEMENT_VIEWER')).toMatchObject({ group: { name: 'viewer' } });
  });

  it('check runs its database checks through it, saying so', async () => {
    const result = await gatehouse(['check'], env());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `configuration ok (database: embedded, through the running Gatehouse server, pid ${server.pid})\n` +
        'database ok: migrated, schema matches the entities, permissions in sync\n',
    );
  });

  it('migrate --check and migrate work through it when nothing is pending', async () => {
    expect(await gatehouse(['migrate', '--check'], env())).toEqual({ code: 0, stdout: 'no migrations to apply\n', stderr: '' });
    expect(await gatehouse(['migrate'], env())).toEqual({
      code: 0,
      stdout: 'no migrations to apply\npermissions up to date\n',
      stderr: '',
    });
  });

  it('refuses to apply a pending migration under the server, saying why and which process to stop, and applies nothing', async () => {
    const [last] = await query<{ name: string }>(databaseUrl(), 'select name from gatehouse_migrations order by id desc limit 1');
    await query(databaseUrl(), 'delete from gatehouse_migrations where name = $1', [last.name]);
    try {
      const check = await gatehouse(['migrate', '--check'], env());
      expect(check).toEqual({ code: 1, stdout: `1 pending migration(s): ${last.name}\n`, stderr: '' });
      const migrate = await gatehouse(['migrate'], env());
      expect(migrate.code).toBe(1);
      expect(migrate.stdout).toBe('');
      expect(expectOneLine(migrate.stderr)).toBe(
        `gatehouse migrate: 1 pending migration(s) would change the schema under a running server, and the embedded database is held by the running Gatehouse server (pid ${server.pid}): stop it (kill ${server.pid}) and run this again`,
      );
      expect(await query(databaseUrl(), 'select 1 from gatehouse_migrations where name = $1', [last.name])).toEqual([]);
    } finally {
      await query(databaseUrl(), 'insert into gatehouse_migrations (name, executed_at) values ($1, now())', [last.name]);
    }
  });

  it('refuses a second server on the same data directory, naming the process that holds it', async () => {
    const second = await gatehouse(['serve'], { ...env(), PORT: '0', LOG_LEVEL: 'error' });
    expect(second.code).toBe(1);
    expect(expectOneLine(second.stderr)).toBe(
      `gatehouse serve: cannot open the embedded database in ${path.join(dataDir, 'pglite')}: it is in use by another Gatehouse process (pid ${server.pid}); stop that process, or set DATABASE_URL to use PostgreSQL`,
    );
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('keeps each connection’s extended-protocol exchange whole while another queries, and frees the session when one leaves mid-exchange', async () => {
    const port = readRecord().port;
    const a = await RawConnection.open(port);
    const b = await RawConnection.open(port);
    try {
      a.write(parse('select $1::text as who'), FLUSH);
      await a.take('1'); // ParseComplete: A's unnamed statement exists, its exchange is open
      b.write(parse('select 42::text as who'), bind([]), DESCRIBE_PORTAL, EXECUTE, SYNC);
      await sleep(300);
      expect(b.has('Z')).toBe(false); // B waits for A's Sync rather than replacing A's statement
      a.write(bind(['mine']), DESCRIBE_PORTAL, EXECUTE, SYNC);
      expect(rows(await a.take('Z'))).toEqual(['mine']);
      expect(rows(await b.take('Z'))).toEqual(['42']);

      a.write(parse('select $1::text as who'), FLUSH);
      await a.take('1');
      a.close();
      b.write(parse('select 7::text as who'), bind([]), DESCRIBE_PORTAL, EXECUTE, SYNC);
      expect(rows(await b.take('Z'))).toEqual(['7']);
    } finally {
      a.close();
      b.close();
    }
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('removes the record with the lock when it stops cleanly', async () => {
    const { code } = await server.stop(60_000);
    expect(code).toBe(0);
    expect(fs.existsSync(recordFile())).toBe(false);
    expect(fs.existsSync(lockFile())).toBe(false);
  });

  describe('after a server was killed', () => {
    let decoy: Server;
    let connections = 0;
    beforeAll(async () => {
      decoy = createServer((socket) => {
        connections++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => decoy.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => decoy.close(() => resolve())));

    it('does not trust the record it left behind: the command opens the database itself and removes the record', async () => {
      server = await startGatehouseProcess(env(), 90_000);
      const killedPid = server.pid;
      process.kill(killedPid, 'SIGKILL');
      expect((await server.stop()).signal).toBe('SIGKILL');
      // What the crash left: its lock and its record, now pointing at a port another program took.
      expect(Number(fs.readFileSync(lockFile(), 'utf8'))).toBe(killedPid);
      expect(readRecord().pid).toBe(killedPid);
      fs.writeFileSync(recordFile(), JSON.stringify({ ...readRecord(), port: (decoy.address() as { port: number }).port }));

      const result = await gatehouse(
        ['createsuperuser', '--no-input', '--username', 'after_crash', '--password', 'after the crash'],
        env(),
      );
      expect(result).toEqual({ code: 0, stdout: 'superuser "after_crash" created\n', stderr: '' });
      expect(connections).toBe(0);
      expect(fs.existsSync(recordFile())).toBe(false);
      expect(fs.existsSync(lockFile())).toBe(false);

      const again = await gatehouse(['createsuperuser', '--no-input', '--username', 'after_crash', '--password', 'after the crash'], env());
      expect(expectOneLine(again.stderr)).toBe('gatehouse createsuperuser: the username "after_crash" is already taken');
    });
  });

  it('waits for a server that holds the database but is still starting, then goes through it', async () => {
    const starting = spawnGatehouse(['serve'], { ...env(), PORT: '0', LOG_LEVEL: 'error' });
    const exited = collect(starting);
    try {
      await waitFor(() => fs.existsSync(lockFile()) && fs.readFileSync(lockFile(), 'utf8') === String(starting.pid), 60_000);
      const check = await gatehouse(['check'], env());
      expect(check.stderr).toBe('');
      expect(check.stdout.split('\n')[0]).toBe(
        `configuration ok (database: embedded, through the running Gatehouse server, pid ${starting.pid})`,
      );
    } finally {
      starting.kill('SIGTERM');
      expect((await exited).code).toBe(0);
    }
    expect(fs.existsSync(recordFile())).toBe(false);
  });
});
