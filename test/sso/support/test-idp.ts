import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

// ---- the parts of oidc-provider (ESM-only, untyped) used here ----
interface OidcGrant {
  addOIDCScope(scope: string): void;
  save(): Promise<string>;
}
interface Provider {
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  interactionDetails(
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<{ prompt: { name: string }; params: Record<string, unknown>; session?: { accountId: string } }>;
  interactionFinished(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  Grant: new (props: { accountId: string; clientId: string }) => OidcGrant;
  on(event: string, listener: (...args: unknown[]) => void): void;
}
type Configuration = Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Provider } = require('oidc-provider') as { Provider: new (issuer: string, configuration: Configuration) => Provider };

/** One person in the test directory: the claims the provider issues for them (sub is the key). */
export type DirectoryEntry = Record<string, unknown>;

/**
 * A real OpenID Provider (oidc-provider 9) on 127.0.0.1 for the tests — not the development IdP.
 * Its login interaction signs in whoever the test puts in `nextLogin` (a test-only IdP may do
 * that; Gatehouse has no such backdoor), and consent is granted automatically. Claims come from
 * `directory`, which tests edit between sign-ins; all of them go into the ID token.
 */
export interface TestIdp {
  readonly issuer: string;
  readonly port: number;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly directory: Map<string, DirectoryEntry>;
  /**
   * Claims the userinfo endpoint answers with over the directory's, for one account — e.g.
   * `{ sub: 'someone-else' }` for a userinfo response about another person than the ID token.
   */
  readonly userinfoClaims: Map<string, DirectoryEntry>;
  /**
   * Paths (`/token`, `/me` for userinfo, `/jwks`, `/.well-known/openid-configuration`) whose
   * requests are accepted and never answered: the provider hanging, which the real one does
   * not do on demand. Removing a path makes later requests work again.
   */
  readonly unresponsive: Set<string>;
  /** The account the next authorization request signs in. */
  nextLogin: string | null;
  /** Signs `claims` as the provider does (its own RS256 key and `kid`), for bearer-token and logout-token tests. */
  sign(claims: JWTPayload, options?: { alg?: string; kid?: string; typ?: string }): Promise<string>;
  /** The grant type of every token request the provider answered (`authorization_code`, `refresh_token`), and each refused one prefixed `refused:`. */
  readonly grants: string[];
  /** The `Authorization` header of every token request (undefined when it had none). */
  readonly tokenAuthorizations: Array<string | undefined>;
  /** Milliseconds the token endpoint waits before it handles a request (a slow provider). */
  tokenDelayMs: number;
  /** Back-channel logout deliveries, as the provider saw them (its `backchannel.success` / `backchannel.error` events). */
  readonly backchannelDeliveries: Array<{ ok: boolean; sub: string; sid: string; at: number; error?: string }>;
  readonly publicJwk: JWK;
  /** Closes the provider's port, as a provider that is down: connections are refused until `bringUp()`. */
  takeDown(): Promise<void>;
  /** Listens on the same port again (same issuer, same keys, same directory). */
  bringUp(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestIdpOptions {
  redirectUri: string;
  postLogoutRedirectUri: string;
  groupsClaim?: string;
  port?: number;
  apiAudience?: string;
  /** Gatehouse's back-channel logout URL: with it, the provider's `backchannelLogout` feature is on and the client registered for it (sid required). */
  backchannelLogoutUri?: string;
  /** Issue a refresh token with every code (for the client, whatever the scope), as Keycloak does by default. */
  refreshTokens?: boolean;
  /** The client registration over the default (client_secret_basic, RS256): its id, secret, token_endpoint_auth_method, jwks_uri… */
  client?: Record<string, unknown>;
  /** The provider's token endpoint authentication methods (`token_endpoint_auth_methods_supported`, in its order). */
  clientAuthMethods?: string[];
}

export async function startTestIdp(options: TestIdpOptions): Promise<TestIdp> {
  const groupsClaim = options.groupsClaim ?? 'groups';
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  const directory = new Map<string, DirectoryEntry>();
  const userinfoClaims = new Map<string, DirectoryEntry>();
  const unresponsive = new Set<string>();
  const clientId = typeof options.client?.client_id === 'string' ? options.client.client_id : 'gatehouse-test';
  const clientSecret =
    typeof options.client?.client_secret === 'string' ? options.client.client_secret : 'test-client-secret-that-is-long-enough-0123456789';
  const backchannelDeliveries: TestIdp['backchannelDeliveries'] = [];

  let provider: Provider | null = null;
  // Bind first, then build the issuer from the real port.
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (unresponsive.has(pathname)) return; // left open until stop()
    if (pathname === '/token') idp.tokenAuthorizations.push(req.headers.authorization);
    if (pathname === '/token' && idp.tokenDelayMs > 0 && provider) {
      const handle = provider.callback();
      setTimeout(() => handle(req, res), idp.tokenDelayMs);
      return;
    }
    if (!provider) {
      res.statusCode = 503;
      res.end();
      return;
    }
    if (req.url?.startsWith('/interaction/')) {
      interact(provider, req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
      return;
    }
    provider.callback()(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  let listening = true;

  const idp: TestIdp = {
    issuer,
    port,
    clientId,
    clientSecret,
    directory,
    userinfoClaims,
    unresponsive,
    nextLogin: null,
    publicJwk,
    backchannelDeliveries,
    grants: [],
    tokenAuthorizations: [],
    tokenDelayMs: 0,
    async sign(claims, signOptions = {}) {
      return new SignJWT(claims)
        .setProtectedHeader({ alg: signOptions.alg ?? 'RS256', kid: signOptions.kid ?? 'test-key-1', typ: signOptions.typ ?? 'at+jwt' })
        .sign(privateKey);
    },
    async takeDown() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      listening = false;
    },
    async bringUp() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
      listening = true;
    },
    async stop() {
      if (listening) await idp.takeDown();
    },
  };

  async function interact(op: Provider, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const details = await op.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      if (!idp.nextLogin || !directory.has(idp.nextLogin)) throw new Error(`test IdP: nobody to sign in (${idp.nextLogin})`);
      await op.interactionFinished(req, res, { login: { accountId: idp.nextLogin } }, { mergeWithLastSubmission: false });
      return;
    }
    const grant = new op.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id as string });
    grant.addOIDCScope(String(details.params.scope));
    await op.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
  }

  const configuration: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        post_logout_redirect_uris: [options.postLogoutRedirectUri],
        response_types: ['code'],
        grant_types: options.refreshTokens ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
        ...(options.backchannelLogoutUri
          ? { backchannel_logout_uri: options.backchannelLogoutUri, backchannel_logout_session_required: true }
          : {}),
        ...options.client,
      },
    ],
    ...(options.clientAuthMethods ? { clientAuthMethods: options.clientAuthMethods } : {}),
    ...(options.refreshTokens
      ? {
          issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
            client.grantTypeAllowed('refresh_token'),
        }
      : {}),
    jwks: { keys: [privateJwk] },
    // oidc-provider's SSRF guard refuses loopback; Gatehouse (back-channel logout, its JWKS) is on loopback here.
    fetch: (url: string | URL, init: RequestInit & { dispatcher?: unknown }) =>
      fetch(url, { ...init, dispatcher: undefined } as RequestInit),
    async findAccount(_ctx: unknown, id: string, token?: { kind?: string }) {
      const entry = directory.get(id);
      if (!entry) return undefined;
      // oidc-provider answers userinfo with the `sub` of the account it finds for the access
      // token; returning another account there is how a provider mixes up two people.
      const userinfo = token?.kind === 'AccessToken' ? userinfoClaims.get(id) : undefined;
      const accountId = typeof userinfo?.sub === 'string' ? userinfo.sub : id;
      return { accountId, claims: () => ({ ...directory.get(id), ...userinfo, sub: accountId }) };
    },
    claims: { openid: ['sub', groupsClaim], email: ['email', 'email_verified'], profile: ['given_name', 'family_name', 'name'] },
    // Scope claims in the ID token too (by default they go only to userinfo).
    conformIdTokenClaims: false,
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true },
      userinfo: { enabled: true },
      backchannelLogout: { enabled: options.backchannelLogoutUri !== undefined },
    },
    cookies: { keys: ['test-idp-cookie-key'] },
    pkce: { required: () => true },
    ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600 },
  };
  // The in-memory adapter is what a test IdP wants; its "not for production" warning is noise here.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes('oidc-provider WARNING')) warn(...args);
  };
  try {
    provider = new Provider(issuer, configuration);
  } finally {
    console.warn = warn;
  }
  // Quiet: errors surface in the tests' assertions.
  provider.on('server_error', () => undefined);
  type GrantContext = { oidc: { params?: { grant_type?: unknown } } };
  provider.on('grant.success', (ctx) => idp.grants.push(String((ctx as GrantContext).oidc.params?.grant_type)));
  provider.on('grant.error', (ctx) => idp.grants.push(`refused:${String((ctx as GrantContext).oidc.params?.grant_type)}`));
  provider.on('backchannel.success', (_ctx, _client, sub, sid) =>
    backchannelDeliveries.push({ ok: true, sub: String(sub), sid: String(sid), at: Date.now() }),
  );
  provider.on('backchannel.error', (_ctx, error, _client, sub, sid) =>
    backchannelDeliveries.push({ ok: false, sub: String(sub), sid: String(sid), at: Date.now(), error: String(error) }),
  );
  return idp;
}
