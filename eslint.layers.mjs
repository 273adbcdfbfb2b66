// The layering of src/, checked by ESLint's own no-restricted-imports (see ARCHITECTURE.md):
// - a domain folder's files (services, queries, entities, loaders…) import neither the GraphQL
//   edge (src/graphql) nor the HTTP edge (src/http), nor their own domain's GraphQL files;
// - a domain's GraphQL edge files (*.resolver.ts, *.types.ts) may import src/graphql, never
//   src/http, and never another resolver;
// - src/graphql never imports src/http (the HTTP server imports the GraphQL layer, not the reverse);
// - src/cli, like src/app.ts, composes the service: it may check the GraphQL schema (`gatehouse
//   check`), but reaches HTTP only through src/app.ts.
// eslint.config.mjs uses these; test/lint/layering.test.ts proves that each one bites.
import tseslint from 'typescript-eslint';

const EDGE = ['src/**/*.resolver.ts', 'src/**/*.types.ts'];

const GRAPHQL = {
  regex: '^(\\.\\./)+graphql(/|$)',
  message: 'Domain code knows nothing of GraphQL: only *.resolver.ts and *.types.ts files import src/graphql.',
};
const HTTP = {
  regex: '^(\\.\\./)+http(/|$)',
  message: 'Only src/http (and src/app.ts) know HTTP; pass what is needed in (see RequestPort in src/graphql/context.ts).',
};
const GRAPHQL_FILES = {
  regex: '\\.(resolver|types)$',
  message: 'Domain code does not import GraphQL edge files (*.resolver.ts, *.types.ts); move what it needs into the domain.',
};
const RESOLVER = {
  regex: '\\.resolver$',
  message: 'A resolver never imports another resolver: share types through *.types.ts and helpers through the domain or src/graphql.',
};

export default [
  // Parsing only, so that the rules below can be checked on their own (test/lint/layering.test.ts).
  { files: ['src/**/*.ts'], languageOptions: { parser: tseslint.parser } },
  {
    files: ['src/*/**/*.ts'],
    ignores: ['src/graphql/**', 'src/http/**', 'src/cli/**', ...EDGE],
    rules: { 'no-restricted-imports': ['error', { patterns: [GRAPHQL, HTTP, GRAPHQL_FILES] }] },
  },
  { files: ['src/cli/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [HTTP, GRAPHQL_FILES] }] } },
  { files: EDGE, rules: { 'no-restricted-imports': ['error', { patterns: [HTTP, RESOLVER] }] } },
  { files: ['src/graphql/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [HTTP] }] } },
];
