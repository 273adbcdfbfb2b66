#!/usr/bin/env node
// Compiles src/ and migrations/ to JavaScript with swc (the options of .swcrc: legacy decorators
// with their metadata, exactly what tests and the type checker see), into dist/<digest>/, where
// <digest> is a content hash of everything the build reads. `gatehouse` (bin/gatehouse.js) and
// `npm start` call ensureBuilt() before loading anything, so the JavaScript they run is never
// older than the sources; `npm ci` builds once (`prepare`), `npm run build` on demand.
//
// Each build is written to a temporary directory and renamed into place, so processes that
// start together (tests spawning the CLI, several instances) never see a half-written build:
// the first rename wins and the others use it. The three most recent builds are kept, so a
// process still running from an earlier one keeps its files.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const DEFAULT_ROOT = path.resolve(__dirname, '..');
/** What is compiled (TypeScript) or copied (anything else, e.g. the development IdP's directory.json). */
const SOURCE_DIRS = ['src', 'migrations'];
/** Inputs of the build besides the sources: the compiler options and this file. */
const BUILD_INPUTS = ['.swcrc', 'bin/build.js'];
const KEEP_BUILDS = 3;
const DIGEST = /^[0-9a-f]{20}$/;

/** Files under `dir` (relative to `root`, `/`-separated), sorted, skipping declaration files. */
function listFiles(root, dir) {
  const out = [];
  const walk = (relative) => {
    const entries = fs.readdirSync(path.join(root, relative), { withFileTypes: true });
    for (const entry of entries) {
      const file = `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(file);
      else if (entry.isFile() && !entry.name.endsWith('.d.ts')) out.push(file);
    }
  };
  if (fs.existsSync(path.join(root, dir))) walk(dir);
  return out.sort();
}

function swcVersion(root) {
  const manifest = require.resolve('@swc/core/package.json', { paths: [root] });
  return JSON.parse(fs.readFileSync(manifest, 'utf8')).version;
}

/** The content hash of the sources and build inputs under `root`: the name of their build. */
function sourceDigest(root = DEFAULT_ROOT) {
  const hash = crypto.createHash('sha256');
  hash.update(`swc ${swcVersion(root)}\0`);
  const files = [
    ...BUILD_INPUTS.filter((file) => fs.existsSync(path.join(root, file))),
    ...SOURCE_DIRS.flatMap((dir) => listFiles(root, dir)),
  ];
  for (const file of files) {
    const content = fs.readFileSync(path.join(root, file));
    hash.update(`${file}\0${content.length}\0`).update(content);
  }
  return { digest: hash.digest('hex').slice(0, 20), files: files.filter((file) => SOURCE_DIRS.some((dir) => file.startsWith(`${dir}/`))) };
}

/** swc's options for one file: .swcrc, with the source map written next to the output. */
function swcOptions(root, file) {
  const swcrc = JSON.parse(fs.readFileSync(path.join(root, '.swcrc'), 'utf8'));
  delete swcrc.$schema;
  return {
    ...swcrc,
    swcrc: false,
    configFile: false,
    isModule: true,
    filename: path.join(root, file),
    // The map points back at the TypeScript source (node --enable-source-maps uses it).
    sourceMaps: true,
    sourceFileName: path.relative(path.dirname(path.join(root, 'dist', 'x', file)), path.join(root, file)),
  };
}

async function compileInto(root, files, target) {
  const swc = require(require.resolve('@swc/core', { paths: [root] }));
  // Every file settles before a failure is reported, so nothing still writes into `target` when it is removed.
  const results = await Promise.allSettled(
    files.map(async (file) => {
      const source = path.join(root, file);
      const isTypeScript = file.endsWith('.ts');
      const output = path.join(target, isTypeScript ? file.replace(/\.ts$/, '.js') : file);
      await fs.promises.mkdir(path.dirname(output), { recursive: true });
      if (!isTypeScript) {
        await fs.promises.copyFile(source, output);
        return;
      }
      let result;
      try {
        result = await swc.transform(await fs.promises.readFile(source, 'utf8'), swcOptions(root, file));
      } catch (error) {
        throw new BuildError(`cannot compile ${file}${compilerDiagnostic(String(error?.message ?? error))}`);
      }
      const map = `${path.basename(output)}.map`;
      await fs.promises.writeFile(output, `${result.code}\n//# sourceMappingURL=${map}\n`);
      await fs.promises.writeFile(`${output}.map`, result.map);
    }),
  );
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

/** `:line:column: message` from swc's report (a code frame and a native backtrace), on one line. */
function compilerDiagnostic(report) {
  const message = /^\s*x (.+)$/m.exec(report)?.[1]?.trim() ?? report.trim().split('\n')[0];
  const position = /,-\[.*?:(\d+):(\d+)\]/.exec(report);
  return `${position ? `:${position[1]}:${position[2]}` : ''}: ${message}`;
}

class BuildError extends Error {
  constructor(message) {
    super(message);
    this.name = 'BuildError';
  }
}

/** Removes all but the KEEP_BUILDS most recent builds, and temporary directories of builds that died. */
function prune(dist, current) {
  let entries;
  try {
    entries = fs.readdirSync(dist, { withFileTypes: true }).filter((entry) => entry.isDirectory());
  } catch {
    return;
  }
  const aged = (name) => {
    try {
      return fs.statSync(path.join(dist, name)).mtimeMs;
    } catch {
      return 0;
    }
  };
  const builds = entries
    .map((entry) => entry.name)
    .filter((name) => DIGEST.test(name) && name !== current)
    .sort((a, b) => aged(b) - aged(a));
  const stale = builds.slice(KEEP_BUILDS - 1);
  const hourAgo = Date.now() - 3600 * 1000;
  stale.push(...entries.map((entry) => entry.name).filter((name) => name.startsWith('.tmp-') && aged(name) < hourAgo));
  for (const name of stale) fs.rmSync(path.join(dist, name), { recursive: true, force: true });
}

/**
 * The directory holding the JavaScript built from the current sources under `root`
 * (`<root>/dist/<digest>`, mirroring `src/` and `migrations/`), compiled first when the sources
 * changed since the last build. `onBuild` is told when a build starts.
 */
async function ensureBuilt({ root = DEFAULT_ROOT, onBuild } = {}) {
  const { digest, files } = sourceDigest(root);
  const dist = path.join(root, 'dist');
  const target = path.join(dist, digest);
  if (fs.existsSync(path.join(target, '.complete'))) return target;
  onBuild?.(digest);
  const started = process.hrtime.bigint();
  const temporary = path.join(dist, `.tmp-${digest}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  fs.mkdirSync(temporary, { recursive: true });
  try {
    await compileInto(root, files, temporary);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    fs.writeFileSync(
      path.join(temporary, '.complete'),
      JSON.stringify({ digest, files: files.length, swc: swcVersion(root), builtAt: new Date().toISOString(), ms: Math.round(ms) }) + '\n',
    );
    try {
      fs.renameSync(temporary, target);
    } catch (error) {
      // Another process finished the same build first: use that one.
      if (!['ENOTEMPTY', 'EEXIST'].includes(error.code) || !fs.existsSync(path.join(target, '.complete'))) throw error;
    }
  } finally {
    fs.rmSync(temporary, { recursive: true, force: true });
  }
  prune(dist, digest);
  return target;
}

module.exports = { ensureBuilt, sourceDigest, BuildError };

if (require.main === module) {
  const started = process.hrtime.bigint();
  let built = false;
  ensureBuilt({ onBuild: () => (built = true) }).then(
    (dir) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const where = path.relative(process.cwd(), dir) || dir;
      process.stdout.write(built ? `built ${where} in ${Math.round(ms)} ms\n` : `${where} is up to date\n`);
    },
    (error) => {
      process.stderr.write(`gatehouse build: ${error instanceof BuildError ? error.message : (error?.stack ?? error)}\n`);
      process.exitCode = 1;
    },
  );
}
