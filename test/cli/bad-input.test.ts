import { expectOneLine, gatehouse } from './run-gatehouse';

const COMMANDS = ['serve', 'migrate', 'makemigrations', 'seed', 'createsuperuser', 'check'];

describe('gatehouse, used wrongly', () => {
  it('refuses an unknown command with exit 2, listing the commands', async () => {
    const result = await gatehouse(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(expectOneLine(result.stderr)).toBe(`gatehouse: unknown command "frobnicate" (commands: ${COMMANDS.join(', ')})`);
  });

  it('without a command prints the usage and exits 2; with --help exits 0', async () => {
    const bare = await gatehouse([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toMatch(/^usage: gatehouse <command> \[options\]\n/);
    for (const command of COMMANDS) expect(bare.stdout).toContain(`  ${command}`);
    const help = await gatehouse(['--help']);
    expect(help).toEqual({ ...bare, code: 0 });
  });

  it('prints a command’s usage for --help without touching any database', async () => {
    const result = await gatehouse(['migrate', '--help'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' });
    expect(result).toEqual({
      code: 0,
      stdout:
        'usage: gatehouse migrate [--check]\napply pending database migrations and synchronise the permissions with the model registry (--check: exit 1 if any is pending, apply nothing)\n',
      stderr: '',
    });
  });

  it('refuses an unknown option with exit 2 and the command’s usage', async () => {
    const result = await gatehouse(['migrate', '--fake']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("gatehouse migrate: Unknown option '--fake'\nusage: gatehouse migrate [--check]\n");
  });

  it.each([['mysql://gatehouse:s3cr3t@db/gatehouse'], ['not a url'], ['postgres://gatehouse:s3cr3t@db:port/gatehouse']])(
    'answers a malformed DATABASE_URL (%j) with one line naming DATABASE_URL, without its password',
    async (url) => {
      const result = await gatehouse(['migrate'], { DATABASE_URL: url });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      const line = expectOneLine(result.stderr);
      expect(line).toMatch(
        /^gatehouse migrate: \[gatehouse\.config\.E001\] invalid configuration: DATABASE_URL: expected postgres:\/\/user:password@host:5432\/database \(got ".*"\)$/,
      );
      expect(line).not.toContain('s3cr3t');
    },
  );

  it('answers an unreachable database with one line and exit 1, no stack trace', async () => {
    const result = await gatehouse(['migrate'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(expectOneLine(result.stderr)).toBe(
      'gatehouse migrate: cannot reach the database at 127.0.0.1:1/x: connect ECONNREFUSED 127.0.0.1:1',
    );
  });

  it('answers a database that does not exist with one line naming it', async () => {
    const result = await gatehouse(['check'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/gatehouse_no_such_database' });
    expect(result.code).toBe(1);
    expect(expectOneLine(result.stderr)).toBe(
      'gatehouse check: cannot reach the database at 127.0.0.1:5432/gatehouse_no_such_database: database "gatehouse_no_such_database" does not exist',
    );
  });

  it('refuses to run in production on the embedded database', async () => {
    const result = await gatehouse(['check'], { NODE_ENV: 'production' });
    expect(result.code).toBe(1);
    expect(expectOneLine(result.stderr)).toBe(
      'gatehouse check: [gatehouse.config.E001] invalid configuration: DATABASE_URL: required in production (the embedded database is for development)',
    );
  });

  it('answers a bad PORT for serve with one line naming PORT, before opening any database', async () => {
    const result = await gatehouse(['serve'], { PORT: 'http', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' });
    expect(result.code).toBe(1);
    expect(expectOneLine(result.stderr)).toBe(
      'gatehouse serve: [gatehouse.config.E001] invalid configuration: PORT: expected a port number from 0 to 65535 (got "http")',
    );
  });
});
