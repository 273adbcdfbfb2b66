import { spawn } from 'node:child_process';
import { verifyPassword } from '../../src/users/passwords';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { waitFor } from '../support/wait';
import { cliEnv, collect, expectOneLine, gatehouse, query, ROOT, spawnGatehouse } from './run-gatehouse';

interface UserRow {
  username: string;
  email: string;
  password: string | null;
  is_active: boolean;
  is_staff: boolean;
  is_superuser: boolean;
}

describe('gatehouse createsuperuser', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  const run = (args: string[], env: Record<string, string> = {}) =>
    gatehouse(['createsuperuser', ...args], { DATABASE_URL: db.url, ...env });
  const users = (username: string) =>
    query<UserRow>(db.url, 'select username, email, password, is_active, is_staff, is_superuser from auth_user where username = $1', [
      username,
    ]);

  describe('without a terminal (--no-input)', () => {
    it('creates an active staff superuser from flags, with an argon2id hash of the password', async () => {
      const result = await run(['--no-input', '--username', 'ada', '--email', 'ada@example.com', '--password', 'analytical engine']);
      expect(result).toEqual({ code: 0, stdout: 'superuser "ada" created\n', stderr: '' });
      const [user] = await users('ada');
      expect(user).toMatchObject({ username: 'ada', email: 'ada@example.com', is_active: true, is_staff: true, is_superuser: true });
      expect(user.password).toMatch(/^\$argon2id\$/);
      expect(await verifyPassword(user.password, 'analytical engine')).toBe(true);
    });

    it(`takes the password from GATEHOUSE_SUPERUSER_PASSWORD, keeping it off the command line`, async () => {
      const result = await run(['--no-input', '--username', 'grace'], { GATEHOUSE_SUPERUSER_PASSWORD: 'compiler pioneer' });
      expect(result).toEqual({ code: 0, stdout: 'superuser "grace" created\n', stderr: '' });
      const [user] = await users('grace');
      expect(user.email).toBe('');
      expect(await verifyPassword(user.password, 'compiler pioneer')).toBe(true);
    });

    it('refuses a duplicate username with one line and exit 1, leaving the one existing row untouched', async () => {
      const [before] = await users('ada');
      const result = await run(['--no-input', '--username', 'ada', '--password', 'another password']);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(expectOneLine(result.stderr)).toBe('gatehouse createsuperuser: the username "ada" is already taken');
      expect(await users('ada')).toEqual([before]);
    });

    it.each([
      [
        'an invalid username',
        ['--username', 'ada lovelace', '--password', 'long enough'],
        'username: must be 1-150 characters: letters, digits and @ . + - _ only',
        'ada lovelace',
      ],
      [
        'an invalid e-mail address',
        ['--username', 'bad_email', '--email', 'not-an-address', '--password', 'long enough'],
        'email: must be an e-mail address such as ada@example.com',
        'bad_email',
      ],
      [
        'a short password',
        ['--username', 'short_password', '--password', 'short'],
        'password: must be at least 12 characters',
        'short_password',
      ],
      [
        'a common password',
        ['--username', 'common_password', '--password', 'qwerty123456'],
        'password: is too common: it is on a list of passwords that attackers try first',
        'common_password',
      ],
    ])('refuses %s naming the field, creating nothing', async (_what, args, message, username) => {
      const result = await run(['--no-input', ...args]);
      expect(result.code).toBe(1);
      expect(expectOneLine(result.stderr)).toBe(`gatehouse createsuperuser: ${message}`);
      expect(await users(username)).toEqual([]);
    });

    it('without --username exits 2 with the usage, creating nothing', async () => {
      const before = await query(db.url, 'select count(*)::int as n from auth_user');
      const result = await run(['--no-input', '--password', 'long enough']);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        'gatehouse createsuperuser: missing --username (or run it in a terminal to be asked)\n' +
          'usage: gatehouse createsuperuser [--username <name>] [--email <address>] [--password <password>] [--no-input]\n',
      );
      expect(await query(db.url, 'select count(*)::int as n from auth_user')).toEqual(before);
    });

    it('without a password exits 2 naming --password and GATEHOUSE_SUPERUSER_PASSWORD', async () => {
      const result = await run(['--no-input', '--username', 'nopassword']);
      expect(result.code).toBe(2);
      expect(result.stderr.split('\n')[0]).toBe(
        'gatehouse createsuperuser: missing --password or GATEHOUSE_SUPERUSER_PASSWORD (or run it in a terminal to be asked)',
      );
      expect(await users('nopassword')).toEqual([]);
    });

    it('with stdin not a terminal and no --no-input, does not wait for answers but asks for the flags', async () => {
      const result = await run(['--username', 'piped']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('missing --password');
    });

    it('refuses an unknown flag with exit 2 and the usage', async () => {
      const result = await run(['--no-input', '--username', 'x', '--superpowers']);
      expect(result.code).toBe(2);
      expect(result.stderr.split('\n')[0]).toMatch(/^gatehouse createsuperuser: Unknown option '--superpowers'/);
      expect(result.stderr).toContain('usage: gatehouse createsuperuser');
    });

    it('reports the same conflict when another writer takes the username between its check and its insert', async () => {
      // A real race: another transaction has inserted "racer" but not committed, so the
      // command's existence check sees nothing and its insert waits on the unique index.
      const { Client } = await import('pg');
      const other = new Client({ connectionString: db.url });
      await other.connect();
      try {
        await other.query('begin');
        await other.query("insert into auth_user (username, date_joined) values ('racer', now())");
        const child = spawnGatehouse(['createsuperuser', '--no-input', '--username', 'racer', '--password', 'long enough password'], {
          DATABASE_URL: db.url,
        });
        const done = collect(child);
        await waitFor(
          async () => {
            const rows = await query(
              db.url,
              "select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ilike 'insert into %auth_user%'",
            );
            return rows.length > 0;
          },
          15_000,
          50,
        );
        await other.query('commit');
        const result = await done;
        expect(result.code).toBe(1);
        expect(expectOneLine(result.stderr)).toBe('gatehouse createsuperuser: the username "racer" is already taken');
        expect(await query(db.url, "select password from auth_user where username = 'racer'")).toEqual([{ password: null }]);
      } finally {
        await other.end();
      }
    });
  });

  describe('in a terminal', () => {
    it('asks for the username, e-mail and password twice, never echoing the password', async () => {
      const password = 'hunter2-but-longer';
      const session = terminal(['createsuperuser'], { DATABASE_URL: db.url });
      await session.answer('Username: ', 'margaret');
      await session.answer('Email address (optional): ', 'margaret@example.com');
      await session.answer('Password: ', password);
      await session.answer('Password (again): ', password);
      const { code, output } = await session.exit;
      expect(code).toBe(0);
      expect(output).toContain('superuser "margaret" created');
      expect(output).toContain('margaret@example.com'); // typed answers are echoed…
      expect(output).not.toContain(password); // …but never the password
      const [user] = await users('margaret');
      expect(user).toMatchObject({ email: 'margaret@example.com', is_superuser: true, is_staff: true, is_active: true });
      expect(user.password).toMatch(/^\$argon2id\$/);
      expect(await verifyPassword(user.password, password)).toBe(true);
    });

    it('creates nothing when the two passwords differ', async () => {
      const session = terminal(['createsuperuser', '--username', 'mismatch', '--email', '']);
      await session.answer('Password: ', 'first password');
      await session.answer('Password (again): ', 'second password');
      const { code, output } = await session.exit;
      expect(code).toBe(2);
      expect(output).toContain('the two passwords differ; nothing was created');
      expect(await users('mismatch')).toEqual([]);
    });
  });

  /** Runs gatehouse in a pseudo-terminal (util-linux `script`), answering prompts as they appear. */
  function terminal(args: string[], env: Record<string, string> = { DATABASE_URL: db.url }) {
    const command = ['node', 'bin/gatehouse.js', ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ROOT, env: cliEnv({ ...env, TERM: 'dumb' }) });
    let output = '';
    let answered = 0;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exit = new Promise<{ code: number | null; output: string }>((resolve) => {
      child.once('close', (code) => resolve({ code, output }));
    });
    return {
      exit: exit.then((result) => {
        child.stdin.end();
        return result;
      }),
      /** Waits until `prompt` appears (after the previous answer), then types `text` and Enter. */
      async answer(prompt: string, text: string) {
        await waitFor(() => output.indexOf(prompt, answered) >= 0, 20_000, 50);
        answered = output.indexOf(prompt, answered) + prompt.length;
        child.stdin.write(`${text}\r`);
      },
    };
  }
});
