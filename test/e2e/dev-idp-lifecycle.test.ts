/**
 * The identity lifecycle issue's "Done when", with the development identity provider exactly as
 * `npm start` runs it (Gatehouse starts it; back-channel logout and refresh tokens on, nothing to
 * configure but SSO_REFRESH_INTERVAL, shortened here to 1 s): a person signed in to Gatehouse who
 * signs out at the provider is refused on their next request, and one removed from their group
 * or from the directory is refused on their first request once SSO_REFRESH_INTERVAL has passed.
 * The directory is a copy of the shipped one, edited as a developer would edit it.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { seedReferenceGroupsAndRules } from '../../src/sso/seed-rules';
import { DEFAULT_DIRECTORY_FILE } from '../../src/sso/dev-idp/directory-file';
import { startDevIdentityProvider, type DevIdentityProvider } from '../../src/sso/dev-idp/dev-identity-provider';
import { MyAccountDocument } from '../generated/graphql';
import { Browser, readForm } from '../support/browser';
import { graphqlClient } from '../support/graphql-client';
import { freePort } from '../support/ports';
import { startTestServer, type TestServer } from '../support/server';
import { sleep } from '../support/wait';
import { signOutAtProvider } from '../sso/support/provider-logout';

const REFRESH_INTERVAL_S = 1;

describe('with the development identity provider, access follows its directory', () => {
  let server: TestServer;
  let idp: DevIdentityProvider;
  let publicUrl: string;
  let directoryFile: string;

  beforeAll(async () => {
    directoryFile = path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-directory-')), 'directory.json');
    copyFileSync(DEFAULT_DIRECTORY_FILE, directoryFile);
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    server = await startTestServer({
      env: { PORT: String(port), PUBLIC_URL: publicUrl, SSO_REFRESH_INTERVAL: String(REFRESH_INTERVAL_S) },
      sso: {
        devProvider: async () => {
          idp = await startDevIdentityProvider({
            publicUrl,
            logger: { warn: () => undefined, info: () => undefined },
            nodeEnv: 'test',
            directoryFile,
          });
          return idp;
        },
      },
    });
    await seedReferenceGroupsAndRules(server.db.orm.em.fork());
  });
  afterAll(() => server?.stop());

  /** Edits the directory file (its modification time moves, so the IdP reads it again). */
  function editDirectory(edit: (users: Array<{ username: string; groups: string[] }>) => unknown): void {
    const directory = JSON.parse(readFileSync(directoryFile, 'utf8')) as { users: Array<{ username: string; groups: string[] }> };
    edit(directory.users);
    writeFileSync(directoryFile, JSON.stringify(directory, null, 2));
  }

  /** Signs `username` in through the development IdP's login form, as a browser does; returns the browser. */
  async function signIn(username: string, password: string): Promise<Browser> {
    const browser = new Browser();
    const start = `${publicUrl}/oidc/authenticate/?next=/graphql`;
    const atForm = await browser.follow(start, (next) => next.origin === idp.issuer);
    expect(atForm.response.status).toBe(200);
    const action = new URL(readForm(await atForm.response.text()).action, atForm.url);
    const submitted = await browser.postForm(action, { username, password });
    const back = await browser.followRedirects(action, submitted, (next) => next.origin === idp.issuer);
    expect(back.next?.pathname).toBe('/oidc/callback/');
    const callback = await browser.get(back.next!);
    expect(callback.headers.get('location')).toBe('/graphql');
    return browser;
  }

  const me = async (browser: Browser) => {
    const result = await graphqlClient(publicUrl, { transport: (url, init) => browser.request(url, init) })(MyAccountDocument);
    expect(result.errors).toBeUndefined();
    return result.data!.me;
  };

  it('signs out at the provider → refused on the very next request (back-channel logout), other people untouched', async () => {
    const carl = await signIn('carl.sagan', 'cosmos');
    const vera = await signIn('vera.rubin', 'galaxies');
    expect((await me(carl))?.permissions).toHaveLength(8);
    await signOutAtProvider(carl, idp.issuer);
    expect(await me(carl)).toBeNull();
    expect((await me(vera))?.user.username).toBe('vera.rubin');
  });

  it('removed from their group → refused on the first request after SSO_REFRESH_INTERVAL (refresh)', async () => {
    const grace = await signIn('grace.hopper', 'compiler');
    expect((await me(grace))?.user.username).toBe('grace.hopper');
    editDirectory((users) => (users.find((u) => u.username === 'grace.hopper')!.groups = []));
    await sleep(REFRESH_INTERVAL_S * 1000 + 100);
    expect(await me(grace)).toBeNull();
  });

  it('deleted from the directory → the provider refuses the refresh, and the session ends', async () => {
    const katherine = await signIn('katherine.johnson', 'orbits');
    expect((await me(katherine))?.user.username).toBe('katherine.johnson');
    editDirectory((users) =>
      users.splice(
        users.findIndex((u) => u.username === 'katherine.johnson'),
        1,
      ),
    );
    await sleep(REFRESH_INTERVAL_S * 1000 + 100);
    expect(await me(katherine)).toBeNull();
  });

  it('a person whose directory entry did not change stays signed in across refreshes', async () => {
    const vera = await signIn('vera.rubin', 'galaxies');
    await sleep(REFRESH_INTERVAL_S * 1000 + 100);
    expect((await me(vera))?.permissions).toEqual(['core.view_language', 'core.view_tweet']);
    await sleep(REFRESH_INTERVAL_S * 1000 + 100);
    expect((await me(vera))?.user.username).toBe('vera.rubin');
  });
});
