import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

/*
 * The layering rules of eslint.layers.mjs, run by ESLint itself on files that exist only in this
 * test: each forbidden import is reported, each allowed one is not, and the real src/ obeys them.
 * (ESLint loads its configuration with a dynamic import(), which jest's module system cannot run,
 * so the linting happens in a plain Node process.)
 */

const ROOT = path.resolve(__dirname, '..', '..');

interface Lint {
  filePath: string;
  messages: Array<{ ruleId: string | null; message: string }>;
}

const LINT_SCRIPT = `
import { ESLint } from 'eslint';
let input = '';
for await (const chunk of process.stdin) input += chunk;
const { files, tree } = JSON.parse(input);
// Only the layering rules are loaded: the main configuration's eslint-disable comments (for rules
// such as no-control-regex) are not this test's business, a parse error (ruleId null) is.
const eslint = new ESLint({
  cwd: process.cwd(),
  overrideConfigFile: 'eslint.layers.mjs',
  overrideConfig: { linterOptions: { reportUnusedDisableDirectives: 'off' } },
});
const results = [];
for (const [filePath, code] of files) results.push(...(await eslint.lintText(code, { filePath })));
if (tree) results.push(...(await eslint.lintFiles(['src/**/*.ts'])));
process.stdout.write(JSON.stringify(results.map((r) => ({ filePath: r.filePath, messages: r.messages.map((m) => ({ ruleId: m.ruleId, message: m.message })) }))));
`;

async function lint(files: Array<[path: string, code: string]>, options: { tree?: boolean } = {}): Promise<Lint[]> {
  const run = promisify(execFile)(process.execPath, ['--input-type=module', '-e', LINT_SCRIPT], { cwd: ROOT, maxBuffer: 16 << 20 });
  run.child.stdin!.end(JSON.stringify({ files, tree: options.tree ?? false }));
  const { stdout } = await run;
  return JSON.parse(stdout) as Lint[];
}

/** `import` statement of `from` in a file at `file`, and what the rules say about it. */
const CASES: Array<[what: string, file: string, code: string, refused: boolean]> = [
  ['a service importing src/graphql', 'src/users/users.service.ts', "import { HasPermission } from '../graphql/access';", true],
  [
    'a service importing only a type of src/graphql',
    'src/groups/groups.service.ts',
    "import type { GatehouseContext } from '../graphql/context';",
    true,
  ],
  ['a query module importing src/http', 'src/users/users.queries.ts', "import { readCookie } from '../http/cookies';", true],
  [
    'a file in a nested domain folder importing src/graphql',
    'src/sso/dev-idp/dev-seed.ts',
    "import { Connection } from '../../graphql/connection';",
    true,
  ],
  ['an entity importing src/graphql', 'src/groups/group.entity.ts', "import { HasPermission } from '../graphql/access';", true],
  ['a loader importing its domain’s GraphQL types', 'src/users/users.loaders.ts', "import { Membership } from './user.types';", true],
  ['a service importing a resolver', 'src/sso/mapping-rules.service.ts', "import { X } from './mapping-rule.resolver';", true],
  ['a resolver importing another resolver', 'src/groups/group.resolver.ts', "import { UserResolver } from '../users/user.resolver';", true],
  ['a resolver importing src/http', 'src/sessions/session.resolver.ts', "import { setSessionCookie } from '../http/cookies';", true],
  ['a GraphQL types file importing src/http', 'src/users/user.types.ts', "import { readCookie } from '../http/cookies';", true],
  ['src/graphql importing src/http', 'src/graphql/context.ts', "import { startHttpServer } from '../http/server';", true],
  ['a resolver importing src/graphql', 'src/users/user.resolver.ts', "import { HasPermission } from '../graphql/access';", false],
  [
    'a resolver importing GraphQL types of another domain',
    'src/groups/group.resolver.ts',
    "import { UserConnection } from '../users/user.types';",
    false,
  ],
  ['a GraphQL types file importing src/graphql', 'src/groups/group.types.ts', "import { Connection } from '../graphql/connection';", false],
  ['src/http importing src/graphql', 'src/http/server.ts', "import { createContext } from '../graphql/context';", false],
  [
    'src/graphql importing a resolver to assemble the schema',
    'src/graphql/schema.ts',
    "import { UserResolver } from '../users/user.resolver';",
    false,
  ],
  [
    'src/app.ts wiring both edges',
    'src/app.ts',
    "import { startHttpServer } from './http/server';\nimport { buildGatehouseSchema } from './graphql/schema';",
    false,
  ],
  ['a service importing the graphql package', 'src/users/users.service.ts', "import { GraphQLError } from 'graphql';", false],
  [
    'a service importing another domain',
    'src/groups/groups.service.ts',
    "import { permissionsNamed } from '../permissions/grants';",
    false,
  ],
];

describe('the layering lint rules (eslint.layers.mjs)', () => {
  let results: Lint[];
  beforeAll(async () => {
    results = await lint(CASES.map(([, file, code]) => [file, `${code}\n`]));
  }, 60_000);

  it.each(CASES.map((c, i) => [...c, i] as const))('%s (%s): refused = %p', (_what, file, _code, refused, index) => {
    const result = results[index];
    expect(result.filePath).toBe(path.join(ROOT, file));
    const restricted = result.messages.filter((m) => m.ruleId === 'no-restricted-imports');
    // Nothing but the layering rule speaks (no parse error passes for a refusal).
    expect(result.messages.filter((m) => m.ruleId !== 'no-restricted-imports')).toEqual([]);
    expect(restricted.length > 0).toBe(refused);
  });

  it('finds nothing to refuse in the real src/', async () => {
    const tree = await lint([], { tree: true });
    expect(tree.length).toBeGreaterThan(50);
    // (Other messages are the main configuration's eslint-disable comments for rules not loaded here.)
    expect(tree.filter((r) => r.messages.some((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === null))).toEqual([]);
  }, 60_000);
});
