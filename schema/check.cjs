// `npm run schema:check`: regenerates the SDL with codegen.yml into a temporary file and fails,
// showing the difference, when it differs from the committed schema/schema.graphql.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { generate, loadContext } = require('@graphql-codegen/cli');

const ROOT = path.resolve(__dirname, '..');
const COMMITTED = path.join(ROOT, 'schema', 'schema.graphql');

async function main() {
  process.chdir(ROOT);
  const context = await loadContext(path.join(ROOT, 'codegen.yml'));
  context.updateConfig({ silent: true });
  const outputs = await generate(context, false);
  const output = outputs.find((o) => path.resolve(ROOT, o.filename) === COMMITTED);
  if (!output) throw new Error('codegen.yml does not generate schema/schema.graphql');
  const fresh = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-schema-')), 'schema.graphql');
  fs.writeFileSync(fresh, output.content);
  const committed = fs.existsSync(COMMITTED) ? fs.readFileSync(COMMITTED, 'utf8') : null;
  if (committed === output.content) {
    process.stdout.write('schema/schema.graphql is up to date\n');
    return 0;
  }
  process.stderr.write(
    committed === null
      ? 'schema/schema.graphql is missing: run `npm run schema` and commit it\n'
      : 'schema/schema.graphql differs from the schema the code declares: run `npm run schema` and commit the result\n',
  );
  if (committed !== null) {
    try {
      execFileSync('diff', ['-u', '--label', 'committed schema/schema.graphql', '--label', 'generated from the code', COMMITTED, fresh], { stdio: 'inherit' });
    } catch {
      // diff exits 1 when the files differ; its output is the point
    }
  }
  process.stderr.write(`(generated file kept at ${fresh})\n`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`schema check failed: ${error.stack ?? error}\n`);
    process.exit(2);
  },
);
