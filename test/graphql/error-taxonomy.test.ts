import { print } from 'graphql';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CatalogResolver } from '../../src/graphql/catalog.resolver';
import { ERROR_CODES } from '../../src/graphql/errors';
import { MAX_INPUT_STRING_LENGTH } from '../../src/graphql/input-values';
import { QUERY_LIMITS } from '../../src/graphql/limits';
import {
  CreateGroupDocument,
  GroupsDocument,
  LanguageDocument,
  MeDocument,
  PermissionCatalogDocument,
  PreviewGroupMappingDocument,
} from '../generated/graphql';
import type { GraphQLResponse } from '../support/graphql-client';
import type { LogRecord } from '../support/logs';
import { startTestServer, type TestServer, type TestServerOptions } from '../support/server';

/** Gatehouse with its log lines kept; `takeLogs()` hands over those written since the last call. */
interface LoggedServer extends TestServer {
  takeLogs(): LogRecord[];
  /** POSTs `body` to /graphql as it is (transport tests: bodies no GraphQL client would send). */
  post(body: string | Uint8Array, headers?: Record<string, string>): Promise<GraphQLResponse>;
}

async function startLoggedServer(options: TestServerOptions = {}): Promise<LoggedServer> {
  const server = await startTestServer({ ...options, logs: true });
  let seen = 0;
  return Object.assign(server, {
    takeLogs() {
      const taken = server.logs.slice(seen);
      seen = server.logs.length;
      return taken;
    },
    async post(body: string | Uint8Array, headers: Record<string, string> = {}) {
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      const parsed = (await response.json()) as { data?: null; errors?: GraphQLResponse['errors'] };
      return { status: response.status, data: parsed.data, errors: parsed.errors, body: parsed, headers: response.headers };
    },
  });
}

const INFO = 30;
const WARN = 40;
const ERROR = 50;

describe('README.md "Errors"', () => {
  const readme = readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
  const start = readme.indexOf('\n## Errors\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const row = (code: string) => section.split('\n').find((line) => line.startsWith(`| \`${code}\` |`)) ?? '';

  it('has a row for every code a client can receive, in the order of ERROR_CODES', () => {
    expect(start).toBeGreaterThan(0);
    expect([...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1])).toEqual([...ERROR_CODES]);
  });

  it('states the limits the server enforces', () => {
    const limits = row('QUERY_TOO_COMPLEX');
    expect(limits).toContain(`\`depth\` (${QUERY_LIMITS.maxDepth})`);
    expect(limits).toContain(`\`aliases\` (${QUERY_LIMITS.maxAliases})`);
    expect(limits).toContain(`\`directives\` (${QUERY_LIMITS.maxDirectives})`);
    expect(limits).toContain(`\`tokens\` (${QUERY_LIMITS.maxTokens})`);
    expect(limits).toContain(`\`cost\` (${QUERY_LIMITS.maxCost})`);
    expect(row('BAD_USER_INPUT')).toContain(`longer than ${MAX_INPUT_STRING_LENGTH} characters`);
  });
});

/**
 * The documents below stay strings: each is wrong on purpose (it does not parse, does not
 * validate, or carries a value the schema refuses), which no typed document could be.
 *
 * Every kind of client mistake answers its own code over real HTTP, with the real message and
 * HTTP 400 when the request is refused before it runs; it is logged once at info level without
 * a stack. Only server faults are INTERNAL_SERVER_ERROR, masked and logged at error level.
 */
describe('the error taxonomy of /graphql', () => {
  let server: LoggedServer;
  let token: string;
  beforeAll(async () => {
    server = await startLoggedServer();
    ({ token } = await server.signInWith(['auth.view_user', 'auth.view_group', 'auth.add_group', 'admin.view_logentry']));
    server.takeLogs();
  });
  afterAll(() => server.stop());

  /** The reply is one error with `code` and exactly `details` besides it, before anything ran; logged once at info. */
  function expectRefused(reply: GraphQLResponse, code: string, details: Record<string, unknown> = {}, status = 400) {
    expect(reply.status).toBe(status);
    expect(reply.data).toBeUndefined();
    expect(reply.errors).toHaveLength(1);
    const [error] = reply.errors!;
    expect(error.extensions).toEqual({ code, ...details });
    expectLoggedOnceAsClientMistake(server.takeLogs(), code);
    return error;
  }

  function expectLoggedOnceAsClientMistake(records: LogRecord[], code: string) {
    const refused = records.filter((r) => r.msg === 'GraphQL request refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ level: INFO, code });
    expect(JSON.stringify(refused[0])).not.toMatch(/stack|\bat .+\.(js|ts):\d+/);
    expect(records.filter((r) => r.level >= WARN)).toEqual([]);
  }

  describe('GRAPHQL_PARSE_FAILED', () => {
    it('answers a document that is not GraphQL with the parser’s message', async () => {
      const error = expectRefused(await server.graphql('{ me { ', {}, token), 'GRAPHQL_PARSE_FAILED');
      expect(error.message).toBe('Syntax Error: Expected Name, found <EOF>.');
    });
  });

  describe('GRAPHQL_VALIDATION_FAILED', () => {
    it('answers an unknown field with graphql-js’s message', async () => {
      const error = expectRefused(await server.graphql('{ me { nosuchfield } }', {}, token), 'GRAPHQL_VALIDATION_FAILED');
      expect(error.message).toBe('Cannot query field "nosuchfield" on type "Me".');
    });

    it('suggests the field meant outside production', async () => {
      const error = expectRefused(await server.graphql('{ me { permission } }', {}, token), 'GRAPHQL_VALIDATION_FAILED');
      expect(error.message).toBe('Cannot query field "permission" on type "Me". Did you mean "permissions"?');
    });

    it('answers an unknown argument', async () => {
      const error = expectRefused(await server.graphql('{ users(frist: 5) { totalCount } }', {}, token), 'GRAPHQL_VALIDATION_FAILED');
      expect(error.message).toMatch(/^Unknown argument "frist" on field "Query.users"\./);
    });

    it('answers an unknown type', async () => {
      const error = expectRefused(await server.graphql('{ me { ... on Nope { permissions } } }', {}, token), 'GRAPHQL_VALIDATION_FAILED');
      expect(error.message).toMatch(/^Unknown type "Nope"\./);
    });

    it('answers a variable the operation does not declare', async () => {
      const reply = await server.graphql('{ users(first: $n) { totalCount } }', { n: 5 }, token);
      const error = expectRefused(reply, 'GRAPHQL_VALIDATION_FAILED');
      expect(error.message).toBe('Variable "$n" is not defined.');
    });

    // Found by the fuzzer (fuzz.test.ts): graphql-js 16 only fails it in execution, with no code.
    it('answers a subscription, an operation type the schema does not have', async () => {
      const error = expectRefused(await server.graphql('subscription { __typename }', {}, token), 'GRAPHQL_VALIDATION_FAILED');
      expect(error.message).toBe('The subscription operation is not supported by the schema.');
      expectRefused(await server.graphql('subscription S { me { permissions } }'), 'GRAPHQL_VALIDATION_FAILED');
    });

    it('answers an operation name the document does not hold', async () => {
      const reply = await server.post(JSON.stringify({ query: 'query A { me { permissions } }', operationName: 'B' }), {
        authorization: `Bearer ${token}`,
      });
      const error = expectRefused(reply, 'OPERATION_RESOLUTION_FAILURE');
      expect(error.message).toBe('Unknown operation named "B".');
    });
  });

  describe('BAD_USER_INPUT', () => {
    it('names the argument given a literal of the wrong scalar type (users(first: "x"))', async () => {
      const error = expectRefused(await server.graphql('{ users(first: "x") { totalCount } }', {}, token), 'BAD_USER_INPUT', {
        argument: 'first',
      });
      expect(error.message).toBe('Int cannot represent non-integer value: "x"');
    });

    it('names the variable given a value of the wrong scalar type', async () => {
      const reply = await server.graphql('query($n: Int) { users(first: $n) { totalCount } }', { n: 'x' }, token);
      const error = expectRefused(reply, 'BAD_USER_INPUT', { variable: 'n' });
      expect(error.message).toBe('Variable "$n" got invalid value "x"; Int cannot represent non-integer value: "x"');
    });

    it('names the required variable that was not given', async () => {
      const reply = await server.graphql('query($n: Int!) { users(first: $n) { totalCount } }', {}, token);
      const error = expectRefused(reply, 'BAD_USER_INPUT', { variable: 'n' });
      expect(error.message).toBe('Variable "$n" of required type "Int!" was not provided.');
    });

    it('names the argument given an unknown enum value', async () => {
      const error = expectRefused(await server.graphql('{ users(orderBy: NEWEST) { totalCount } }', {}, token), 'BAD_USER_INPUT', {
        argument: 'orderBy',
      });
      expect(error.message).toMatch(/^Value "NEWEST" does not exist in "UserOrder" enum\./);
    });

    it('names the variable given an unknown enum value', async () => {
      const reply = await server.graphql('query($o: UserOrder) { users(orderBy: $o) { totalCount } }', { o: 'NEWEST' }, token);
      const error = expectRefused(reply, 'BAD_USER_INPUT', { variable: 'o' });
      expect(error.message).toMatch(/^Variable "\$o" got invalid value "NEWEST"; Value "NEWEST" does not exist in "UserOrder" enum\./);
    });

    it('names the variable whose default value is of the wrong type', async () => {
      const reply = await server.graphql('query($n: Int = "x") { users(first: $n) { totalCount } }', {}, token);
      const error = expectRefused(reply, 'BAD_USER_INPUT', { variable: 'n' });
      expect(error.message).toBe('Int cannot represent non-integer value: "x"');
    });

    it('names the argument whose input object lacks a required field, and creates nothing', async () => {
      const before = await server.db.snapshot();
      const reply = await server.graphql('mutation { createGroup(input: {}) { id } }', {}, token);
      const error = expectRefused(reply, 'BAD_USER_INPUT', { argument: 'input' });
      expect(error.message).toBe('Field "CreateGroupInput.name" of required type "String!" was not provided.');
      expect(await server.db.snapshot()).toEqual(before);
    });

    it.each([
      ['a NUL character', 'a\u0000b', /the string contains a NUL character \(U\+0000\)/],
      ['a lone surrogate', 'a\ud800b', /the string is not valid Unicode/],
      ['more than the longest string accepted', 'x'.repeat(MAX_INPUT_STRING_LENGTH + 1), /the string is longer than 4096 characters/],
    ])('refuses a variable holding %s, naming it, and stores nothing', async (_what, name, message) => {
      const before = await server.db.snapshot();
      const reply = await server.graphql(CreateGroupDocument, { input: { name } }, token);
      const error = expectRefused(reply, 'BAD_USER_INPUT', { variable: 'input' });
      expect(error.message).toMatch(/^Variable "\$input" has an invalid value at "input\.name": /);
      expect(error.message).toMatch(message);
      expect(await server.db.snapshot()).toEqual(before);
    });

    it('refuses a NUL character inside a JSON value', async () => {
      const { token: ruleReader } = await server.signInWith(['sso.view_groupmappingrule']);
      const reply = await server.graphql(PreviewGroupMappingDocument, { claims: { groups: ['ok', 'a\u0000b'] } }, ruleReader);
      server.takeLogs();
      expect(reply.status).toBe(400);
      expect(reply.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/^Variable "\$claims" has an invalid value at "claims\.groups\[1\]": the string contains a NUL/),
        extensions: { code: 'BAD_USER_INPUT', variable: 'claims' },
      });
    });

    it.each([
      ['an escaped NUL', String.raw`"a\u0000b"`],
      ['a raw NUL', '"a\u0000b"'],
      ['an over-long string', `"${'x'.repeat(MAX_INPUT_STRING_LENGTH + 1)}"`],
    ])('refuses a literal string argument holding %s, naming the argument, and stores nothing', async (_what, literal) => {
      const before = await server.db.snapshot();
      const reply = await server.graphql(`mutation { createGroup(input: { name: ${literal} }) { id } }`, {}, token);
      const error = expectRefused(reply, 'BAD_USER_INPUT', { argument: 'input' });
      expect(error.message).toMatch(/^Argument "input" has an invalid value: the string /);
      expect(await server.db.snapshot()).toEqual(before);
    });

    it(`accepts a string of exactly ${MAX_INPUT_STRING_LENGTH} characters, counting characters, not UTF-16 units`, async () => {
      for (const search of ['x'.repeat(MAX_INPUT_STRING_LENGTH), '😀'.repeat(MAX_INPUT_STRING_LENGTH)]) {
        const reply = await server.graphql(GroupsDocument, { filter: { search } }, token);
        expect(reply.errors).toBeUndefined();
        expect(reply.data?.groups.totalCount).toBe(0);
      }
      server.takeLogs();
    });

    it('keeps a domain refusal’s code and field (BAD_USER_INPUT thrown by a service)', async () => {
      const reply = await server.graphql(CreateGroupDocument, { input: { name: '' } }, token);
      expect(reply.status).toBe(200);
      expect(reply.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.name' });
      expectLoggedOnceAsClientMistake(server.takeLogs(), 'BAD_USER_INPUT');
    });
  });

  describe('UNAUTHENTICATED', () => {
    it('treats a malformed session cookie as no session, not as a fault', async () => {
      const reply = await server.post(JSON.stringify({ query: print(MeDocument) }), { cookie: 'gatehouse_session=%E0%A4%A' });
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ data: { me: null } });
      const denied = await server.post(JSON.stringify({ query: print(GroupsDocument) }), { cookie: 'gatehouse_session=%E0%A4%A' });
      expect(denied.errors?.map((e) => e.extensions)).toEqual([{ code: 'UNAUTHENTICATED' }]);
      expect(server.takeLogs().filter((r) => r.level >= WARN)).toEqual([]);
    });
  });

  describe('BAD_REQUEST', () => {
    it('refuses a body that is not valid UTF-8 with 400 and stores nothing (no U+FFFD)', async () => {
      const before = await server.db.snapshot();
      const body = Buffer.concat([
        Buffer.from('{"query":"mutation { createGroup(input: { name: \\"caf'),
        Buffer.from([0xe9]), // Latin-1 é: not UTF-8
        Buffer.from('\\" }) { id } }"}'),
      ]);
      const reply = await server.post(body, { authorization: `Bearer ${token}` });
      expect(reply.status).toBe(400);
      expect(reply.errors).toEqual([{ message: 'request body is not valid UTF-8', extensions: { code: 'BAD_REQUEST' } }]);
      expectLoggedOnceAsClientMistake(server.takeLogs(), 'BAD_REQUEST');
      expect(await server.db.snapshot()).toEqual(before);
    });

    it('refuses a body in another charset with 415', async () => {
      const reply = await server.post(JSON.stringify({ query: '{ me { permissions } }' }), {
        'content-type': 'application/json; charset=utf-16',
      });
      expect(reply.status).toBe(415);
      expect(reply.errors?.[0].extensions).toEqual({ code: 'BAD_REQUEST' });
      server.takeLogs();
    });

    it('refuses a body over 1 MB with 413, as a GraphQL error', async () => {
      const reply = await server.post(JSON.stringify({ query: print(MeDocument), variables: { pad: 'x'.repeat(1024 * 1024) } }));
      expect(reply.status).toBe(413);
      expect(reply.errors).toEqual([{ message: 'request body is too large', extensions: { code: 'BAD_REQUEST' } }]);
      expectLoggedOnceAsClientMistake(server.takeLogs(), 'BAD_REQUEST');
    });

    it('refuses a body that is not JSON with 400, as a GraphQL error', async () => {
      const reply = await server.post('{"query": ');
      expect(reply.status).toBe(400);
      expect(reply.errors?.[0].extensions).toEqual({ code: 'BAD_REQUEST' });
      expectLoggedOnceAsClientMistake(server.takeLogs(), 'BAD_REQUEST');
    });
  });

  describe('INTERNAL_SERVER_ERROR', () => {
    it('masks a resolver’s plain Error and logs it at error level with its stack', async () => {
      const fault = jest.spyOn(CatalogResolver.prototype, 'permissionCatalog').mockImplementation(() => {
        throw new Error('connect ECONNREFUSED 10.1.2.3:5432 password=hunter2');
      });
      try {
        const reply = await server.graphql(PermissionCatalogDocument, {}, token);
        expect(reply.errors).toEqual([
          {
            message: 'internal server error',
            path: ['permissionCatalog'],
            locations: [expect.any(Object)],
            extensions: { code: 'INTERNAL_SERVER_ERROR' },
          },
        ]);
        expect(JSON.stringify(reply)).not.toMatch(/hunter2|ECONNREFUSED/);
        const records = server.takeLogs();
        const faults = records.filter((r) => r.level === ERROR);
        expect(faults).toHaveLength(1);
        expect(faults[0]).toMatchObject({ msg: 'internal error while resolving a GraphQL request', kind: 'unexpected' });
        expect(faults[0].err?.stack).toMatch(/hunter2[\s\S]*\n\s+at /);
        expect(records.filter((r) => r.msg === 'GraphQL request refused')).toEqual([]);
      } finally {
        fault.mockRestore();
      }
    });

    it('masks a database error and logs it at error level', async () => {
      const em = server.db.orm.em.fork();
      await em.execute('alter table core_language rename to core_language_moved');
      try {
        const { token: reader } = await server.signInWith(['core.view_language']);
        const reply = await server.graphql(LanguageDocument, { id: '3f1c6a9e-8b2d-4c5e-9f70-1a2b3c4d5e6f' }, reader);
        expect(reply.errors?.map((e) => e.extensions)).toEqual([{ code: 'INTERNAL_SERVER_ERROR' }]);
        expect(reply.errors?.[0].message).toBe('internal server error');
        expect(JSON.stringify(reply)).not.toMatch(/core_language|relation|select/i);
        const faults = server.takeLogs().filter((r) => r.level === ERROR);
        expect(faults).toHaveLength(1);
        expect(faults[0]).toMatchObject({ kind: 'database' });
        expect(JSON.stringify(faults[0].err)).toMatch(/core_language/);
      } finally {
        await em.execute('alter table core_language_moved rename to core_language');
      }
    });
  });
});

describe('the error taxonomy of /graphql in production', () => {
  let server: LoggedServer;
  let token: string;
  beforeAll(async () => {
    server = await startLoggedServer({ env: { NODE_ENV: 'production' } });
    ({ token } = await server.signInWith(['auth.view_user']));
    server.takeLogs();
  });
  afterAll(() => server.stop());

  it('refuses introspection with GRAPHQL_VALIDATION_FAILED saying it is disabled', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "User") { name } }']) {
      const reply = await server.graphql(query, {}, token);
      expect(reply.status).toBe(400);
      expect(reply.errors).toEqual([
        {
          message: 'Introspection is disabled in production: the query asks for __schema or __type',
          locations: [{ line: 1, column: 3 }],
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        },
      ]);
    }
    expect(server.takeLogs().filter((r) => r.level >= WARN)).toEqual([]);
  });

  it('answers an unknown field with the real message but no suggestion', async () => {
    const reply = await server.graphql('{ me { permission } }', {}, token);
    expect(reply.status).toBe(400);
    expect(reply.errors?.[0]).toMatchObject({
      message: 'Cannot query field "permission" on type "Me".',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
  });

  it('still answers __typename, which is not introspection of the schema', async () => {
    const reply = await server.graphql('{ __typename }', {}, token);
    expect(reply.errors).toBeUndefined();
    expect(reply.data).toEqual({ __typename: 'Query' });
  });
});
