import escapeHtml from 'escape-html';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { DEFAULT_DIRECTORY_FILE, loadDirectory, type DirectoryUser } from './directory-file';

/**
 * The built-in development identity provider: a real OpenID Provider (oidc-provider) on
 * loopback, with users and groups from an editable file (`directory.json`), so single sign-on
 * works with no configuration. Development and tests only: it refuses to start in production.
 */

/** The namespaced claim the development IdP puts the directory groups in, like the original project's Auth0 action. */
export const DEV_GROUPS_CLAIM = 'https://gatehouse.dev/ad/groups';

export interface DevIdentityProviderOptions {
  /** Gatehouse's public base URL: the client's redirect and post-logout URIs derive from it. */
  publicUrl: string;
  /** Port on 127.0.0.1; 0 or omitted: an ephemeral port. */
  port?: number;
  logger: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** Gatehouse's NODE_ENV; `production` (here or in the process environment) refuses to start. */
  nodeEnv?: string;
  /** The directory file; defaults to `src/sso/dev-idp/directory.json`. */
  directoryFile?: string;
}

export interface DevIdentityProvider {
  /** `http://127.0.0.1:<port>`: what `OIDC_ISSUER` would be. */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The claim holding the groups (`OIDC_GROUPS_CLAIM` would be this). */
  readonly groupsClaim: string;
  /** The directory as last read (the file is read again when it changes). */
  readonly users: readonly DirectoryUser[];
  stop(): Promise<void>;
}

/**
 * The directory file, read again whenever it changes, so that an edit (a group removed, a user
 * deleted) reaches Gatehouse at the next session refresh without restarting anything. A file
 * that no longer parses leaves the last good directory in force, with a warning.
 */
class LiveDirectory {
  private users: DirectoryUser[];
  private byUsername: Map<string, DirectoryUser>;
  private modified: number;

  constructor(
    private readonly file: string,
    private readonly logger: DevIdentityProviderOptions['logger'],
  ) {
    this.users = loadDirectory(file);
    this.byUsername = new Map(this.users.map((u) => [u.username, u]));
    this.modified = this.mtime();
  }

  private mtime(): number {
    try {
      return statSync(this.file).mtimeMs;
    } catch {
      return 0;
    }
  }

  private current(): void {
    const modified = this.mtime();
    if (modified === this.modified) return;
    this.modified = modified;
    try {
      this.users = loadDirectory(this.file);
      this.byUsername = new Map(this.users.map((u) => [u.username, u]));
      this.logger.info(
        { directory: this.file, users: this.users.map((u) => u.username) },
        'development identity provider: directory reloaded',
      );
    } catch (error) {
      this.logger.warn(
        { directory: this.file, err: String(error) },
        'development identity provider: directory not reloaded (keeping the last good one)',
      );
    }
  }

  all(): readonly DirectoryUser[] {
    this.current();
    return this.users;
  }

  find(username: string): DirectoryUser | undefined {
    this.current();
    return this.byUsername.get(username);
  }
}

/** Lets oidc-provider reach Gatehouse on loopback (its back-channel logout POST), which its SSRF guard refuses by design. */
function loopbackFetch(url: string | URL, options: RequestInit & { dispatcher?: unknown }): Promise<Response> {
  const { hostname } = new URL(url);
  const loopback = hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
  return fetch(url, loopback ? { ...options, dispatcher: undefined } : options);
}

/** The development IdP was asked to start where it must not. */
export class DevIdentityProviderRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DevIdentityProviderRefused';
  }
}

/** The claims the development IdP releases for `user` (before scope filtering). */
export function accountClaims(user: DirectoryUser): Record<string, unknown> {
  return {
    sub: user.username,
    preferred_username: user.username,
    name: [user.givenName, user.familyName].filter(Boolean).join(' '),
    given_name: user.givenName,
    family_name: user.familyName,
    email: user.email,
    email_verified: user.emailVerified,
    [DEV_GROUPS_CLAIM]: [...user.groups],
  };
}

// ---- the parts of oidc-provider (ESM-only, untyped) used here ----
interface OidcContext {
  oidc: {
    provider: OidcProvider;
    client: { clientId: string };
    session: { accountId: string; grantIdFor(clientId: string): string | undefined };
    result?: { consent?: { grantId?: string } };
  };
  body: string;
  type: string;
}
interface OidcGrant {
  addOIDCScope(scope: string): void;
  save(): Promise<string>;
}
interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<{ uid: string; prompt: { name: string }; params: Record<string, unknown> }>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  Grant: { new (props: { accountId: string; clientId: string }): OidcGrant; find(id: string): Promise<OidcGrant | undefined> };
}
type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;

function loadProvider(): ProviderConstructor {
  // oidc-provider is ESM-only: Node 20.19+ loads it through require(esm); jest compiles it to CommonJS.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('oidc-provider') as { Provider: ProviderConstructor }).Provider;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

function passwordMatches(user: DirectoryUser, password: string): boolean {
  return timingSafeEqual(digest(user.password), digest(password));
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:.75rem 0 .25rem}input{width:100%;padding:.4rem;box-sizing:border-box}button{margin-top:1rem;padding:.5rem 1rem}.note{color:#a40;font-size:.9rem}.error{color:#b00}</style>
</head><body>${body}</body></html>`;
}

function loginPage(uid: string, users: readonly DirectoryUser[], error?: string, username = ''): string {
  return page(
    'Development identity provider',
    `<h1>Development identity provider</h1>
<p class="note">For development only. Users and passwords are in <code>src/sso/dev-idp/directory.json</code>.</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required value="${escapeHtml(username)}" list="directory-users">
<datalist id="directory-users">${users.map((u) => `<option value="${escapeHtml(u.username)}">`).join('')}</datalist>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`,
  );
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

/**
 * Starts the development IdP on 127.0.0.1 (`port`, or an ephemeral one): binds the HTTP server
 * first, then builds the issuer from the real port. Gatehouse is registered as its only client
 * (confidential, code flow with PKCE S256, ID tokens signed RS256), with a client id and secret
 * and signing keys generated at each start; redirect URI `${publicUrl}/oidc/callback/`,
 * post-logout URI `${publicUrl}/login`, back-channel logout URI
 * `${publicUrl}/oidc/backchannel-logout/` (with `sid`), and a refresh token with every code.
 * Users sign in with the username and password of the directory file, read again whenever it
 * changes; their groups go into the ID token as `DEV_GROUPS_CLAIM` (scope `openid`). Consent is
 * implied for this first-party client.
 *
 * @throws DevIdentityProviderRefused when NODE_ENV is production.
 * @example
 *   const idp = await startDevIdentityProvider({ publicUrl: config.PUBLIC_URL, logger, nodeEnv: config.NODE_ENV });
 *   // OIDC_ISSUER = idp.issuer, OIDC_CLIENT_ID = idp.clientId, OIDC_GROUPS_CLAIM = idp.groupsClaim …
 */
export async function startDevIdentityProvider(options: DevIdentityProviderOptions): Promise<DevIdentityProvider> {
  if (options.nodeEnv === 'production' || process.env.NODE_ENV === 'production') {
    throw new DevIdentityProviderRefused(
      'the development identity provider refuses to run in production: set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET to your identity provider',
    );
  }
  const directoryFile = options.directoryFile ?? DEFAULT_DIRECTORY_FILE;
  const directory = new LiveDirectory(directoryFile, options.logger);
  const publicUrl = options.publicUrl.replace(/\/+$/, '');

  let provider: OidcProvider | undefined;
  let handle: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;

  async function interaction(uid: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider!.interactionDetails(req, res);
    if (details.uid !== uid || details.prompt.name !== 'login')
      return send(res, 400, page('Sign-in', '<p>This sign-in cannot continue here; start again from Gatehouse.</p>'));
    if (req.method === 'GET') return send(res, 200, loginPage(uid, directory.all()));
    if (req.method !== 'POST') return send(res, 405, page('Sign-in', '<p>Method not allowed.</p>'));
    const form = await readForm(req);
    const username = form.get('username') ?? '';
    const user = directory.find(username);
    // Compare a password even for an unknown user, so both take the same time.
    const ok =
      passwordMatches(user ?? ({ password: randomBytes(16).toString('hex') } as DirectoryUser), form.get('password') ?? '') &&
      user !== undefined;
    if (!ok) return send(res, 401, loginPage(uid, directory.all(), 'Unknown username or wrong password.', username));
    await provider!.interactionFinished(req, res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
  }

  const server = createServer((req, res) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)\/?$/.exec(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    if (match) {
      interaction(match[1], req, res).catch(() => {
        if (!res.headersSent) send(res, 400, page('Sign-in', '<p>This sign-in has expired or is unknown; start again from Gatehouse.</p>'));
        else res.end();
      });
      return;
    }
    if (!handle) return send(res, 503, page('Starting', '<p>Starting…</p>'));
    handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  try {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };
    const clientId = `gatehouse-dev-${randomBytes(6).toString('hex')}`;
    const clientSecret = randomBytes(32).toString('base64url');
    const Provider = loadProvider();
    provider = new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          client_name: 'Gatehouse (development)',
          redirect_uris: [`${publicUrl}/oidc/callback/`],
          post_logout_redirect_uris: [`${publicUrl}/login`],
          response_types: ['code'],
          grant_types: ['authorization_code', 'refresh_token'],
          token_endpoint_auth_method: 'client_secret_basic',
          id_token_signed_response_alg: 'RS256',
          // A sign-out here ends the Gatehouse sessions it started, each by its sid.
          backchannel_logout_uri: `${publicUrl}/oidc/backchannel-logout/`,
          backchannel_logout_session_required: true,
        },
      ],
      // Refresh tokens for Gatehouse whatever the scopes, as Keycloak issues them by default; they
      // end with the provider session (no offline_access), so a sign-out here revokes them too.
      issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
        client.grantTypeAllowed('refresh_token'),
      fetch: loopbackFetch,
      jwks: { keys: [jwk] },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      pkce: { required: () => true },
      // Explicit lifetimes (seconds); oidc-provider nags about its defaults otherwise.
      ttl: {
        AccessToken: 3600,
        AuthorizationCode: 60,
        ClientCredentials: 600,
        DeviceCode: 600,
        BackchannelAuthenticationRequest: 600,
        Grant: 14 * 86400,
        IdToken: 3600,
        Interaction: 3600,
        RefreshToken: 14 * 86400,
        Session: 14 * 86400,
      },
      // Scope-requested claims go into the ID token too, as Auth0 puts its action's claims there.
      conformIdTokenClaims: false,
      claims: {
        openid: ['sub', DEV_GROUPS_CLAIM],
        email: ['email', 'email_verified'],
        profile: ['name', 'given_name', 'family_name', 'preferred_username'],
      },
      features: {
        devInteractions: { enabled: false },
        backchannelLogout: { enabled: true },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: (ctx: OidcContext, form: string) => {
            ctx.type = 'html';
            ctx.body = page(
              'Sign out',
              `<h1>Sign out of the development identity provider?</h1>${form}<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button> <button type="submit" form="op.logoutForm">No, stay signed in</button>`,
            );
          },
        },
      },
      interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
      // Read at every sign-in and refresh: a user deleted from the directory is refused (invalid_grant).
      findAccount: (_ctx: unknown, sub: string) => {
        const user = directory.find(sub);
        return user ? { accountId: sub, claims: () => accountClaims(user) } : undefined;
      },
      // Gatehouse is first-party: consent is implied.
      loadExistingGrant: async (ctx: OidcContext) => {
        const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
        const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
        if (existing) return existing;
        const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
        grant.addOIDCScope('openid email profile');
        await grant.save();
        return grant;
      },
    });
    handle = provider.callback();

    options.logger.warn(
      { issuer, directory: directoryFile, users: directory.all().map((u) => u.username) },
      'the development identity provider is on: anyone who can reach it may sign in as a directory user; never use it in production (set OIDC_ISSUER instead)',
    );
    return {
      issuer,
      clientId,
      clientSecret,
      groupsClaim: DEV_GROUPS_CLAIM,
      get users() {
        return directory.all();
      },
      async stop() {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  } catch (error) {
    server.close();
    throw error;
  }
}
