import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/*
 * The schema satisfies the Relay server specification, as Relay itself checks it: relay-compiler
 * (the npm package's own native binary) compiles the fragments and operations of fixtures/src —
 * `@refetchable` fragments on Node types (refetched through `node(id:)`), `@connection` on
 * Query's and on a Node's connections, `nodes(ids:)`, and a mutation appending to a connection —
 * against schema/schema.graphql, in `--validate` mode: it fails on any error, and when the
 * committed artifacts in fixtures/src/__generated__ are not what the schema now makes
 * (regenerate them with `npx relay-compiler` in test/relay/fixtures).
 */

// eslint-disable-next-line @typescript-eslint/no-require-imports
const relayCompiler = require('relay-compiler') as string | null;
const FIXTURES = path.join(__dirname, 'fixtures');
/** The terminal colour codes relay-compiler prints even without a terminal. */
const ESC = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

function relay(cwd: string, ...args: string[]) {
  if (!relayCompiler) throw new Error(`relay-compiler ships no binary for ${process.platform} (${process.arch})`);
  const run = spawnSync(relayCompiler, args, { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
  return { status: run.status, output: `${run.stdout}${run.stderr}`.replaceAll(ESC, '') };
}

describe('the Relay server specification, checked by relay-compiler', () => {
  it('compiles the fixture fragments and operations, and the committed artifacts are up to date (--validate)', () => {
    const run = relay(FIXTURES, '--validate');
    if (run.status !== 0) throw new Error(`relay-compiler --validate failed (exit ${run.status}):\n${run.output}`);
    expect(run.output).toMatch(/compiled documents: \d+ reader/);
    expect(readdirSync(path.join(FIXTURES, 'src', '__generated__')).sort()).toEqual(
      expect.arrayContaining([
        'UserCardRefetchQuery.graphql.ts',
        'GroupMembersPaginationQuery.graphql.ts',
        'UsersListPaginationQuery.graphql.ts',
      ]),
    );
  });

  it('fails on a schema without Node, so the check above can fail', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-relay-'));
    try {
      // Only the fragments that do not name `node` themselves: Relay must find it missing on its own.
      mkdirSync(path.join(dir, 'src'));
      cpSync(path.join(FIXTURES, 'src', 'users.ts'), path.join(dir, 'src', 'users.ts'));
      const sdl = readFileSync(path.join(__dirname, '..', '..', 'schema', 'schema.graphql'), 'utf8');
      // The same schema with Query.node removed: a @refetchable fragment on a Node type cannot be refetched.
      const withoutNode = sdl.replace(/\n {2}"""\n {2}The object with this global id;[^]*?\): Node @authenticated/, '');
      expect(withoutNode).not.toMatch(/^ {2}node\(/m);
      writeFileSync(path.join(dir, 'schema.graphql'), withoutNode);
      writeFileSync(
        path.join(dir, 'relay.config.json'),
        JSON.stringify({ src: './src', schema: './schema.graphql', language: 'typescript' }),
      );
      const run = relay(dir);
      expect(run.status).not.toBe(0);
      expect(run.output).toMatch(/@refetchable[^]*node/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
