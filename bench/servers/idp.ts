/**
 * The bench's identity provider: a real OpenID Provider (oidc-provider, as the tests' and the
 * development IdP) in a process of its own, so that its work is not counted as Gatehouse's.
 * People are `u<n>` with password `bench` and the claims of bench/support/directory.ts; they sign
 * in through a login form (GET, then POST), consent is implied. Besides the provider's endpoints:
 * - `GET /bench/token?sub=u<n>`: a JWT access token for OIDC_API_AUDIENCE, signed with the
 *   provider's key (what a frontend holding a provider token sends as a bearer token);
 * - `GET /bench/stats`: the durations (ms) of the `/token` requests served since the last call,
 *   so the bench can tell Gatehouse's callback time apart from the provider's, and of the
 *   back-channel logout POSTs it made to Gatehouse;
 * - `GET /bench/disable?sub=u<n>`: the person is gone from the directory from now on (a refresh
 *   of their grant is refused with invalid_grant, as when an account is disabled).
 * With LIFECYCLE_URL (a Gatehouse's public URL), a second client is registered for it as
 * `npm start`'s development IdP registers Gatehouse: back-channel logout to
 * `$LIFECYCLE_URL/oidc/backchannel-logout/` (sid required) and refresh tokens.
 * Environment: PORT, REDIRECT_URIS (comma-separated), POST_LOGOUT_URIS, LIFECYCLE_URL. Prints
 * {"ready":true,"port":…,"issuer":…,"clientId":…,"clientSecret":…,"lifecycleClientId":…,
 * "lifecycleClientSecret":…} when it listens.
 */
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { API_AUDIENCE, claimsFor, GROUPS_CLAIM, IDP_PASSWORD } from '../support/directory';

interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<{ uid: string; prompt: { name: string } }>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  Grant: { new (props: { accountId: string; clientId: string }): OidcGrant; find(id: string): Promise<OidcGrant | undefined> };
}
interface OidcGrant {
  addOIDCScope(scope: string): void;
  save(): Promise<string>;
}
interface OidcContext {
  oidc: {
    provider: OidcProvider;
    client: { clientId: string };
    session: { accountId: string; grantIdFor(clientId: string): string | undefined };
  };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Provider } = require('oidc-provider') as { Provider: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider };

const person = (sub: string) => (/^u\d{1,7}$/.test(sub) ? Number(sub.slice(1)) : null);

async function readBody(req: IncomingMessage): Promise<URLSearchParams> {
  let raw = '';
  for await (const chunk of req) raw += String(chunk);
  return new URLSearchParams(raw);
}

export async function main(): Promise<number> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = 'bench-key-1';
  const jwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const clientId = 'gatehouse-bench';
  const clientSecret = randomBytes(32).toString('base64url');
  const tokenTimes: number[] = [];
  const backchannelTimes: number[] = [];
  const disabled = new Set<string>();
  const lifecycleUrl = process.env.LIFECYCLE_URL;
  const lifecycleClientId = 'gatehouse-bench-lifecycle';
  const lifecycleClientSecret = randomBytes(32).toString('base64url');
  let provider: OidcProvider | undefined;
  // The provider's request handler, once it exists (the server listens first, to learn its port).
  const ready: { handle?: (req: IncomingMessage, res: ServerResponse) => void } = {};

  async function interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider!.interactionDetails(req, res);
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><form method="post" action="/interaction/${details.uid}"><input name="username"><input name="password" type="password"><button>Sign in</button></form>`,
      );
      return;
    }
    const form = await readBody(req);
    const sub = form.get('username') ?? '';
    if (person(sub) === null || form.get('password') !== IDP_PASSWORD) {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end('unknown person or wrong password');
      return;
    }
    await provider!.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/interaction/')) {
      interaction(req, res).catch((error: unknown) => {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
      return;
    }
    if (url.pathname === '/bench/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: tokenTimes.splice(0), backchannel: backchannelTimes.splice(0) }));
      return;
    }
    if (url.pathname === '/bench/disable') {
      disabled.add(url.searchParams.get('sub') ?? '');
      res.writeHead(204);
      res.end();
      return;
    }
    if (url.pathname === '/bench/token') {
      const n = person(url.searchParams.get('sub') ?? '');
      if (n === null) {
        res.writeHead(400);
        res.end();
        return;
      }
      const { sub, ...claims } = claimsFor(n);
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' })
        .setIssuer(issuer)
        .setSubject(String(sub))
        .setAudience(API_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('2h')
        .sign(privateKey)
        .then(
          (token) => {
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end(token);
          },
          (error: unknown) => {
            res.writeHead(500, { 'content-type': 'text/plain' });
            res.end(String(error));
          },
        );
      return;
    }
    if (url.pathname === '/token') {
      const started = performance.now();
      res.once('finish', () => tokenTimes.push(performance.now() - started));
    }
    if (!ready.handle) {
      res.writeHead(503);
      res.end();
      return;
    }
    ready.handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;

  const warn = console.warn; // the in-memory adapter's "not for production" warning is expected here
  console.warn = () => undefined;
  try {
    provider = new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: (process.env.REDIRECT_URIS ?? '').split(',').filter(Boolean),
          post_logout_redirect_uris: (process.env.POST_LOGOUT_URIS ?? '').split(',').filter(Boolean),
          response_types: ['code'],
          grant_types: ['authorization_code'],
          token_endpoint_auth_method: 'client_secret_basic',
          id_token_signed_response_alg: 'RS256',
        },
        ...(lifecycleUrl
          ? [
              {
                client_id: lifecycleClientId,
                client_secret: lifecycleClientSecret,
                redirect_uris: [`${lifecycleUrl}/oidc/callback/`],
                post_logout_redirect_uris: [`${lifecycleUrl}/login`],
                response_types: ['code'],
                grant_types: ['authorization_code', 'refresh_token'],
                token_endpoint_auth_method: 'client_secret_basic',
                id_token_signed_response_alg: 'RS256',
                backchannel_logout_uri: `${lifecycleUrl}/oidc/backchannel-logout/`,
                backchannel_logout_session_required: true,
              },
            ]
          : []),
      ],
      issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
        client.grantTypeAllowed('refresh_token'),
      // Gatehouse is on loopback, which oidc-provider's SSRF guard refuses; time each back-channel POST.
      fetch: async (target: string | URL, init: RequestInit & { dispatcher?: unknown }) => {
        const started = performance.now();
        const response = await fetch(target, { ...init, dispatcher: undefined } as RequestInit);
        if (String(target).endsWith('/oidc/backchannel-logout/')) backchannelTimes.push(performance.now() - started);
        return response;
      },
      jwks: { keys: [jwk] },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      pkce: { required: () => true },
      ttl: { AccessToken: 3600, AuthorizationCode: 60, Grant: 3600, IdToken: 3600, Interaction: 600, Session: 3600 },
      conformIdTokenClaims: false,
      claims: { openid: ['sub', GROUPS_CLAIM], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name'] },
      features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true }, backchannelLogout: { enabled: true } },
      interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
      findAccount: (_ctx: unknown, sub: string) => {
        const n = person(sub);
        return n === null || disabled.has(sub) ? undefined : { accountId: sub, claims: () => claimsFor(n) };
      },
      loadExistingGrant: async (ctx: OidcContext) => {
        const grantId = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
        const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
        if (existing) return existing;
        const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
        grant.addOIDCScope('openid email profile');
        await grant.save();
        return grant;
      },
    });
  } finally {
    console.warn = warn;
  }
  ready.handle = provider.callback();
  process.stdout.write(
    JSON.stringify({ ready: true, port, issuer, clientId, clientSecret, lifecycleClientId, lifecycleClientSecret }) + '\n',
  );
  await new Promise<void>((resolve) => process.once('SIGTERM', () => server.close(() => resolve())));
  return 0;
}
