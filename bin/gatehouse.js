#!/usr/bin/env node
// Entry point of the `gatehouse` command. The TypeScript sources are compiled on load by
// @swc-node/register (decorator metadata included), so no build step stands between a
// checkout and a running service.
'use strict';
const path = require('node:path');
process.env.SWCRC = 'true';
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || path.join(__dirname, '..', 'tsconfig.json');
require('@swc-node/register');
require('../src/cli/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    if (typeof code === 'number') process.exitCode = code;
  });
