#!/usr/bin/env node
// Runs a benchmark written in TypeScript (`node bench/run.js read-path`), compiled on load by
// @swc-node/register exactly as bin/gatehouse.js runs the service.
'use strict';
const path = require('node:path');
// As in production: graphql-js (among others) reads NODE_ENV once, at load, and in any other
// mode runs development-only checks on every field it resolves.
process.env.NODE_ENV = process.env.BENCH_NODE_ENV || 'production';
process.env.SWCRC = 'true';
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || path.join(__dirname, '..', 'tsconfig.json');
require('@swc-node/register');
const name = process.argv[2] || 'read-path';
require(path.join(__dirname, `${name}.ts`))
  .main()
  .then((code) => {
    process.exitCode = typeof code === 'number' ? code : 0;
  })
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
