import fs from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from '../support/server';
import { makeUser } from '../support/factories';

const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const packageFile = (name: string, ...file: string[]) => path.join(path.dirname(require.resolve(`${name}/package.json`)), ...file);

/** The files the explorer page loads, and where each one comes from. */
const ASSETS: Record<string, string> = {
  '/graphiql/assets/react.production.min.js': packageFile('react', 'umd', 'react.production.min.js'),
  '/graphiql/assets/react-dom.production.min.js': packageFile('react-dom', 'umd', 'react-dom.production.min.js'),
  '/graphiql/assets/graphiql.min.js': packageFile('graphiql', 'graphiql.min.js'),
  '/graphiql/assets/graphiql.min.css': packageFile('graphiql', 'dist', 'style.css'),
  '/graphiql/assets/graphiql-start.js': path.resolve(__dirname, '..', '..', 'src', 'http', 'graphiql-start.js'),
};

async function signedInCookie(server: TestServer): Promise<string> {
  const user = await makeUser(server.db.orm.em.fork());
  return `gatehouse_session=${await server.signIn(user)}`;
}

describe('GET /graphiql (GraphiQL served by Gatehouse)', () => {
  let server: TestServer;
  let cookie: string;

  beforeAll(async () => {
    server = await startTestServer();
    cookie = await signedInCookie(server);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('sends a browser without a session to the sign-in page, which returns to /graphiql', async () => {
    for (const headers of [{}, { cookie: 'gatehouse_session=not-a-session-token' }] as Record<string, string>[]) {
      const response = await fetch(`${server.url}/graphiql`, { headers: { accept: HTML, ...headers }, redirect: 'manual' });
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe('/login?next=%2Fgraphiql');
      expect(await response.text()).not.toContain('graphiql.min.js');
    }
  });

  it('serves a signed-in browser a page whose scripts and styles all come from Gatehouse, under a strict CSP', async () => {
    const response = await fetch(`${server.url}/graphiql`, { headers: { accept: HTML, cookie } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const csp = Object.fromEntries(
      response.headers
        .get('content-security-policy')!
        .split(';')
        .map((directive) => directive.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values]),
    );
    expect(csp).toEqual({
      'default-src': ["'none'"],
      'script-src': ["'self'"],
      'style-src': ["'self'", expect.stringMatching(/^'sha256-[A-Za-z0-9+/]{43}='$/)],
      'font-src': ['data:'],
      'img-src': ["'self'", 'data:'],
      'connect-src': ["'self'"],
      'form-action': ["'none'"],
      'frame-ancestors': ["'none'"],
      'base-uri': ["'none'"],
    });

    const html = await response.text();
    // No inline script at all, nothing from another origin (no scheme, no `//host`).
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/(src|href)="(?!\/graphiql\/assets\/)/i);
    expect(html).not.toMatch(/https?:|\/\/[a-z]/i);
    const loaded = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
    expect(loaded.sort()).toEqual(Object.keys(ASSETS).sort());
  });

  it('serves each of those files byte for byte from the installed npm packages', async () => {
    for (const [asset, file] of Object.entries(ASSETS)) {
      const response = await fetch(`${server.url}${asset}`);
      expect({ asset, status: response.status }).toEqual({ asset, status: 200 });
      expect(response.headers.get('content-type')).toMatch(asset.endsWith('.css') ? /^text\/css/ : /^(text|application)\/javascript/);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(Buffer.from(await response.arrayBuffer()).equals(fs.readFileSync(file))).toBe(true);
    }
  });

  it('answers 404 for any other name under /graphiql/assets/: no path from the URL reaches the file system', async () => {
    for (const name of [
      'package.json',
      '..%2Fpackage.json',
      '..%2F..%2Fpackage.json',
      'constructor',
      '__proto__',
      'toString',
      'graphiql.js',
    ]) {
      const response = await fetch(`${server.url}/graphiql/assets/${name}`);
      expect({ name, status: response.status }).toEqual({ name, status: 404 });
    }
  });

  it('lets Apollo Sandbox stay the landing page of GET /graphql outside production (GRAPHQL_EXPLORER unset: sandbox)', async () => {
    const response = await fetch(`${server.url}/graphql`, { headers: { accept: HTML }, redirect: 'manual' });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/embeddable-sandbox/);
  });
});

describe('GRAPHQL_EXPLORER=graphiql', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: { GRAPHQL_EXPLORER: 'graphiql' } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('sends a browser opening /graphql to /graphiql instead of Apollo Sandbox', async () => {
    const response = await fetch(`${server.url}/graphql`, { headers: { accept: HTML }, redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/graphiql');
  });

  it('still answers GraphQL at /graphql: POST, and GET asking for JSON', async () => {
    expect((await server.graphql('{ __typename }')).data).toEqual({ __typename: 'Query' });
    const get = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
      redirect: 'manual',
    });
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('serves the explorer at /graphiql', async () => {
    const cookie = await signedInCookie(server);
    const response = await fetch(`${server.url}/graphiql`, { headers: { accept: HTML, cookie } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<script src="/graphiql/assets/graphiql.min.js"></script>');
  });
});

describe.each([
  ['GRAPHQL_EXPLORER=none', { GRAPHQL_EXPLORER: 'none' }],
  ['production with GRAPHQL_EXPLORER unset', { NODE_ENV: 'production' }],
])('%s', (_name, env) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('serves no explorer: /graphiql and its files are 404, and a browser at /graphql gets no landing page', async () => {
    const cookie = await signedInCookie(server);
    for (const target of ['/graphiql', '/graphiql/assets/graphiql.min.js']) {
      const response = await fetch(`${server.url}${target}`, { headers: { accept: HTML, cookie }, redirect: 'manual' });
      expect({ target, status: response.status }).toEqual({ target, status: 404 });
    }
    const landing = await fetch(`${server.url}/graphql`, { headers: { accept: HTML }, redirect: 'manual' });
    expect(landing.status).toBe(400);
    expect(landing.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await landing.text()).not.toMatch(/sandbox|<html/i);
  });
});
