import fs from 'node:fs';
import path from 'node:path';
import { CHECKS } from '../../src/checks';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { gatehouse, ROOT } from './run-gatehouse';

// A `gatehouse` process whose resolver list lacks the languages' operations, and with
// `undeclared` also has a query without an access declaration (see support/altered-schema.ts).
const ALTERED = `--require ${path.join(__dirname, 'support', 'altered-schema.cjs')}`;

const line = (level: 'error' | 'warning', id: keyof typeof CHECKS, message: string) =>
  `${level}: [${id}] ${message}; hint: ${CHECKS[id].hint}`;
const UNUSED_LANGUAGE_PERMISSIONS = ['add', 'change', 'delete', 'view'].map((action) =>
  line('warning', 'gatehouse.permissions.W001', `core.${action}_language: no operation requires it`),
);
const UNDECLARED = 'Query.forgotten: has no access declaration (@hasPermission, @authenticated or @public)';

describe('gatehouse check: the system checks, each finding with its id', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it('prints a warning for each permission that no operation requires, and exits 0', async () => {
    const result = await gatehouse(['check'], { DATABASE_URL: db.url, NODE_OPTIONS: ALTERED });
    expect(result).toEqual({
      code: 0,
      stdout: 'configuration ok (database: postgresql)\ndatabase ok: migrated, schema matches the entities, permissions in sync\n',
      stderr: UNUSED_LANGUAGE_PERMISSIONS.map((warning) => `${warning}\n`).join(''),
    });
  });

  it('prints the errors, then the warnings, and exits 1 on an error', async () => {
    const result = await gatehouse(['check'], { DATABASE_URL: db.url, NODE_OPTIONS: ALTERED, ALTERED_SCHEMA_UNDECLARED: 'yes' });
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      line('error', 'gatehouse.graphql.E001', UNDECLARED),
      ...UNUSED_LANGUAGE_PERMISSIONS,
    ]);
  });

  it('serve refuses to start on an error, naming its id and the field, one line each, exit 1', async () => {
    const result = await gatehouse(['serve'], {
      DATABASE_URL: db.url,
      PORT: '0',
      NODE_OPTIONS: ALTERED,
      ALTERED_SCHEMA_UNDECLARED: 'yes',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "gatehouse serve: the schema's access declarations are incomplete; the service refuses to start:\n" +
        `  [gatehouse.graphql.E001] ${UNDECLARED}; hint: ${CHECKS['gatehouse.graphql.E001'].hint}\n`,
    );
  });

  it('every check id has its line in the README, saying what the catalogue says', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const rows = readme.split('\n').filter((row) => row.startsWith('| `gatehouse.'));
    expect(rows).toEqual(Object.entries(CHECKS).map(([id, { means, hint }]) => `| \`${id}\` | ${means} | ${hint} |`));
  });
});
