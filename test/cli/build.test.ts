import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliEnv, collect, expectOneLine, ROOT, type CliResult } from './run-gatehouse';

/*
 * `gatehouse` runs the JavaScript compiled from the sources (bin/build.js), never a stale build.
 * Each test works on a copy of the project (its own src/, migrations/, bin/ and dist/, the real
 * node_modules linked in), so changing a source there touches neither this checkout nor the
 * build the other tests run.
 */

const digestDirs = (dir: string) =>
  fs.existsSync(path.join(dir, 'dist')) ? fs.readdirSync(path.join(dir, 'dist')).filter((name) => /^[0-9a-f]{20}$/.test(name)) : [];

function copyProject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-build-'));
  for (const entry of ['src', 'migrations', 'bin', 'package.json', '.swcrc'])
    fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

function run(dir: string, args: string[]): Promise<CliResult> {
  return collect(spawn(process.execPath, [path.join(dir, 'bin', 'gatehouse.js'), ...args], { cwd: dir, env: cliEnv() }));
}

function edit(file: string, from: string, to: string): void {
  const text = fs.readFileSync(file, 'utf8');
  expect(text).toContain(from);
  fs.writeFileSync(file, text.replace(from, to));
}

describe('bin/gatehouse.js and the compiled build', () => {
  let dir: string;

  beforeEach(() => {
    dir = copyProject();
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('compiles the sources into dist/<digest>/ on first use and runs the compiled JavaScript from then on', async () => {
    const first = await run(dir, ['--help']);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain('usage: gatehouse <command>');
    const [build] = digestDirs(dir);
    expect(digestDirs(dir)).toHaveLength(1);
    for (const file of ['src/cli/main.js', 'src/app.js', 'src/sso/dev-idp/directory.json'])
      expect(fs.existsSync(path.join(dir, 'dist', build, file))).toBe(true);
    expect(fs.readdirSync(path.join(dir, 'dist', build, 'migrations')).filter((file) => file.endsWith('.js')).length).toBeGreaterThan(0);
    // Decorator metadata is emitted as the tests' compiler emits it (swc, legacy decorators).
    expect(fs.readFileSync(path.join(dir, 'dist', build, 'src/users/user.entity.js'), 'utf8')).toContain('_ts_metadata("design:type"');

    // What runs is the compiled file: a line added to it (the sources unchanged) shows up.
    fs.appendFileSync(path.join(dir, 'dist', build, 'src/cli/main.js'), '\nprocess.stdout.write("ran dist/main.js\\n");\n');
    const second = await run(dir, ['--help']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('ran dist/main.js');
    expect(digestDirs(dir)).toEqual([build]);
  });

  it('compiles again when a source changed, so the command runs the new code', async () => {
    expect((await run(dir, ['check', '--help'])).stdout).toContain('run the system checks (configuration, schema, database)');
    const [before] = digestDirs(dir);
    edit(
      path.join(dir, 'src/cli/main.ts'),
      'run the system checks (configuration, schema, database)',
      'check everything that can be checked',
    );

    const after = await run(dir, ['check', '--help']);
    expect(after).toMatchObject({ code: 0, stderr: '' });
    expect(after.stdout).toContain('check everything that can be checked');
    expect(digestDirs(dir)).toHaveLength(2);
    expect(digestDirs(dir)).toContain(before);
  });

  it('builds a changed source once when several commands start at the same time, each running the new build', async () => {
    await run(dir, ['--help']);
    edit(path.join(dir, 'src/cli/main.ts'), 'run the system checks (configuration, schema, database)', 'validate, concurrently');

    const results = await Promise.all([1, 2, 3, 4].map(() => run(dir, ['--help'])));
    for (const result of results) {
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toContain('validate, concurrently');
    }
    expect(digestDirs(dir)).toHaveLength(2);
    expect(fs.readdirSync(path.join(dir, 'dist')).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
  });

  it('refuses to run a source that does not compile, naming the file in one line, and leaves no build behind', async () => {
    await run(dir, ['--help']);
    const builds = digestDirs(dir);
    fs.appendFileSync(path.join(dir, 'src/errors.ts'), '\nexport const broken = ;\n');

    const result = await run(dir, ['--help']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(expectOneLine(result.stderr)).toMatch(/^gatehouse: cannot compile src\/errors\.ts:\d+:\d+: Expression expected$/);
    expect(digestDirs(dir)).toEqual(builds);
    expect(fs.readdirSync(path.join(dir, 'dist')).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
  });
});
