// Preloaded into `gatehouse` (NODE_OPTIONS=--require) by test/cli/check.test.ts: registers the
// TypeScript compiler as bin/gatehouse.js does, then alters the service's resolver list.
'use strict';
const path = require('node:path');
process.env.SWCRC = 'true';
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || path.join(__dirname, '..', '..', '..', 'tsconfig.json');
require('@swc-node/register');
require('./altered-schema.ts');
