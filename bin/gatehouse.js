#!/usr/bin/env node
// Entry point of the `gatehouse` command. It runs the JavaScript compiled from the current
// sources (bin/build.js: swc with the options of .swcrc, decorator metadata included), compiling
// it first when src/ or migrations/ changed since the last build: starting from compiled code
// takes a fraction of the time of compiling TypeScript at every start.
'use strict';
const path = require('node:path');
const { ensureBuilt, BuildError } = require('./build');

ensureBuilt({
  onBuild: () => {
    if (process.stderr.isTTY) process.stderr.write('gatehouse: compiling the sources (they changed since the last build)…\n');
  },
})
  .then(
    (dir) => require(path.join(dir, 'src', 'cli', 'main.js')).main(process.argv.slice(2)),
    (error) => {
      process.stderr.write(`gatehouse: ${error instanceof BuildError ? error.message : `cannot build: ${error?.message ?? error}`}\n`);
      return 1;
    },
  )
  .then((code) => {
    if (typeof code === 'number') process.exitCode = code;
  });
