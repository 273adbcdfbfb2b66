// Preloaded into `gatehouse` (NODE_OPTIONS=--require) by test/cli/check.test.ts. The command runs
// the compiled build (bin/gatehouse.js), so the resolver list altered here must be the build's:
// the tests' global setup has built it, and this file registers the TypeScript compiler only for
// altered-schema.ts itself, which reaches the build through GATEHOUSE_BUILD_DIR.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..', '..', '..');
const dir = path.join(root, 'dist', require(path.join(root, 'bin', 'build')).sourceDigest(root).digest);
if (!fs.existsSync(path.join(dir, '.complete'))) throw new Error(`altered-schema: no build at ${dir} (run npm run build)`);
process.env.GATEHOUSE_BUILD_DIR = dir;
process.env.SWCRC = 'true';
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || path.join(root, 'tsconfig.json');
require('@swc-node/register');
require('./altered-schema.ts');
