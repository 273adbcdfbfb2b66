import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { GraphQLSchema } from 'graphql';
import { gatehouse } from '../cli/run-gatehouse';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startGatehouseProcess, type GatehouseProcess } from '../support/gatehouse-process';
import { graphqlClient, introspect } from '../support/graphql-client';
import { affordableDocument, fieldPaths, leafFields, objectsAt, pathName, type Fixtures } from './support/every-field';
import { makeRowsOfEveryType, signInWithPassword } from './support/every-type';

/*
 * Every scalar and enum field of every object type reachable from a root query field answers,
 * through every path that reaches it, as a superuser on a database where every type has rows:
 * generated from the served schema by introspection (support/every-field.ts), on PostgreSQL and
 * on the embedded database, each behind `gatehouse serve` as `npm start` runs it.
 */
jest.setTimeout(240_000);

const SUPERUSER = { username: 'root', password: 'every field superuser password' };

/**
 * Fields that are null for every row a superuser signed in with a password can reach, and why.
 * Any other field must show a value at least once, so that its serialization is exercised.
 */
const NULL_FOR_THIS_CALLER: Record<string, string> = {
  'Query.logoutUrl': 'a password session has no provider to sign out at',
  'GroupMappingPreview.groupsClaimProblem': 'the claims given are well-formed',
  'GroupMappingPreview.refusal': 'the claims given are let in',
};

interface Backend {
  name: string;
  /** The environment of `gatehouse createsuperuser` and `gatehouse serve`; undo() removes what it made. */
  prepare(): Promise<{ env: Record<string, string>; undo(): Promise<void> }>;
  readyTimeoutMs: number;
}

const BACKENDS: Backend[] = [
  {
    name: 'PostgreSQL',
    readyTimeoutMs: 30_000,
    async prepare() {
      const db: TestDatabase = await createTestDatabase({ poolMax: 1 });
      return { env: { DATABASE_URL: db.url }, undo: () => db.drop() };
    },
  },
  {
    name: 'the embedded database (PGlite)',
    readyTimeoutMs: 120_000,
    async prepare() {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-every-field-'));
      const migrated = await gatehouse(['migrate'], { DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
      if (migrated.code !== 0) throw new Error(`gatehouse migrate failed: ${migrated.stderr}`);
      return { env: { DATA_DIR: dataDir }, undo: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
    },
  },
];

describe.each(BACKENDS)('every field answers on $name', (backend) => {
  let prepared: Awaited<ReturnType<Backend['prepare']>>;
  let service: GatehouseProcess;
  let token: string;
  let fixtures: Fixtures;
  let schema: GraphQLSchema;

  beforeAll(async () => {
    prepared = await backend.prepare();
    const env = { ...prepared.env, LOG_LEVEL: 'warn' };
    const created = await gatehouse(
      ['createsuperuser', '--no-input', '--username', SUPERUSER.username, '--email', 'root@example.com', '--password', SUPERUSER.password],
      env,
    );
    if (created.code !== 0) throw new Error(`createsuperuser failed: ${created.stderr}`);
    service = await startGatehouseProcess(env, backend.readyTimeoutMs);
    token = await signInWithPassword(service.url, SUPERUSER.username, SUPERUSER.password);
    fixtures = await makeRowsOfEveryType(
      { url: service.url, publicUrl: `http://localhost:${service.port}`, idpUrl: service.idpUrl },
      token,
    );
    schema = await introspect(graphqlClient(service.url), token);
  });
  afterAll(async () => {
    await service?.stop(30_000);
    await prepared?.undo();
  });

  it('selects every scalar and enum field through every path from the query root, with data and no error', async () => {
    const graphql = graphqlClient(service.url);
    const { paths, tooDeep } = fieldPaths(schema);
    // Paths that need no looked-up row first: their answers supply ids for the others.
    const needsRow = (p: (typeof paths)[number]) =>
      p.steps.some((step) => step.field.args.some((arg) => arg.type.toString().endsWith('!')));
    const ordered = [...paths.filter((p) => !needsRow(p)), ...paths.filter(needsRow)];

    const failures: string[] = [];
    const shown = new Map<string, boolean>();
    let combinations = 0;
    for (const fieldPath of ordered) {
      const name = pathName(fieldPath);
      const document = affordableDocument(schema, fieldPath, fixtures);
      const result = await graphql(document.query, document.variables, token);
      if (result.status !== 200 || result.errors || !result.data) {
        failures.push(`${name}: HTTP ${result.status} ${JSON.stringify(result.errors)}\n  ${document.query}`);
        continue;
      }
      const objects = objectsAt(result.data, fieldPath);
      if (!objects.length) {
        failures.push(`${name}: the answer holds no ${fieldPath.target.name} (make the test create one)\n  ${document.query}`);
        continue;
      }
      const type = fieldPath.target.name;
      for (const field of leafFields(fieldPath.target)) {
        combinations++;
        const coordinate = `${type}.${field.name}`;
        shown.set(coordinate, (shown.get(coordinate) ?? false) || objects.some((object) => object[field.name] !== null));
      }
      const id = objects.find((object) => typeof object.id === 'string')?.id as string | undefined;
      if (id && !fixtures.ids.has(type)) fixtures.ids.set(type, id);
    }
    expect(failures).toEqual([]);

    const neverShown = [...shown].filter(([coordinate, seen]) => !seen && !(coordinate in NULL_FOR_THIS_CALLER)).map(([c]) => c);
    expect(neverShown).toEqual([]);
    // Not a wish list: each exception is a field that exists and is indeed always null here.
    for (const coordinate of Object.keys(NULL_FOR_THIS_CALLER))
      expect({ coordinate, shown: shown.get(coordinate) }).toEqual({ coordinate, shown: false });

    console.log(
      `every field on ${backend.name}: ${combinations} (type, field, path) combinations over ${paths.length} paths and ${shown.size} fields of ${new Set([...shown.keys()].map((c) => c.split('.')[0])).size} types; ${tooDeep.length} paths deeper than the depth limit`,
    );
    expect(paths.length).toBeGreaterThan(50);
  });
});
