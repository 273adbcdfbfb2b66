// The declared schema (directives included) as SDL, for GraphQL Code Generator: it cannot
// import TypeScript on Node 20, so the sources are compiled on load by @swc-node/register, as
// bin/gatehouse.js does. Exporting a promise of the SDL is enough for codegen's code-file loader.
'use strict';
const path = require('node:path');
process.env.SWCRC = 'true';
process.env.TS_NODE_PROJECT = process.env.TS_NODE_PROJECT || path.join(__dirname, '..', 'tsconfig.json');
require('@swc-node/register');
require('reflect-metadata');
const { printSchemaWithDirectives } = require('@graphql-tools/utils');
const { buildDeclaredSchema } = require('../src/graphql/schema.ts');

module.exports = buildDeclaredSchema().then((schema) => printSchemaWithDirectives(schema));
