import { startTestServer, type TestServer } from '../../support/server';
import { Browser, freePort } from './browser';
import { startTestIdp, type TestIdp } from './test-idp';

export interface SsoTestBed {
  readonly server: TestServer;
  readonly idp: TestIdp;
  /** Gatehouse's PUBLIC_URL (http://127.0.0.1:<port>). */
  readonly publicUrl: string;
  /**
   * Starts a sign-in as `sub` in a fresh browser and follows the provider's redirects up to
   * (not into) Gatehouse's callback; returns the browser and the callback URL.
   */
  authorize(sub: string, next?: string): Promise<{ browser: Browser; callbackUrl: string }>;
  /** A whole sign-in: authorize, then the callback. Returns the callback's response. */
  signIn(sub: string, next?: string): Promise<{ browser: Browser; response: Response; sessionToken: string | null }>;
  stop(): Promise<void>;
}

/** Gatehouse with single sign-on against a real oidc-provider on 127.0.0.1. */
export async function startSsoTestBed(options: { env?: Record<string, string>; groupsClaim?: string } = {}): Promise<SsoTestBed> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const idp = await startTestIdp({
    redirectUri: `${publicUrl}/oidc/callback/`,
    postLogoutRedirectUri: `${publicUrl}/login`,
    groupsClaim: options.groupsClaim,
  });
  const server = await startTestServer({
    env: {
      PORT: String(port),
      PUBLIC_URL: publicUrl,
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: idp.clientId,
      OIDC_CLIENT_SECRET: idp.clientSecret,
      ...(options.groupsClaim ? { OIDC_GROUPS_CLAIM: options.groupsClaim } : {}),
      ...options.env,
    },
  });
  await waitUntilSsoReady(publicUrl);

  const authorize: SsoTestBed['authorize'] = async (sub, next = '/graphql') => {
    idp.nextLogin = sub;
    const browser = new Browser();
    const { url, response } = await browser.follow(`${publicUrl}/oidc/authenticate/?next=${encodeURIComponent(next)}`, (u) =>
      u.startsWith(`${publicUrl}/oidc/callback/`),
    );
    if (response) throw new Error(`the flow did not reach the callback: ${url} answered ${response.status} ${await response.text()}`);
    return { browser, callbackUrl: url };
  };

  return {
    server,
    idp,
    publicUrl,
    authorize,
    async signIn(sub, next) {
      const { browser, callbackUrl } = await authorize(sub, next);
      const response = await browser.get(callbackUrl);
      return { browser, response, sessionToken: browser.jar.get('gatehouse_session') ?? null };
    },
    async stop() {
      await server.stop();
      await idp.stop();
    },
  };
}

/** Waits for the background discovery (Gatehouse starts without waiting for the provider). */
export async function waitUntilSsoReady(publicUrl: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${publicUrl}/oidc/authenticate/`, { redirect: 'manual' });
    if (response.status === 302) return;
    if (Date.now() > deadline) throw new Error(`single sign-on not ready: ${response.status} ${response.headers.get('location')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The `me` query with a session cookie. */
export async function me(
  publicUrl: string,
  sessionToken: string | null,
): Promise<{ user: Record<string, unknown>; permissions: string[] } | null> {
  const response = await fetch(`${publicUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(sessionToken ? { cookie: `gatehouse_session=${sessionToken}` } : {}) },
    body: JSON.stringify({ query: '{ me { user { username email firstName lastName isStaff isSuperuser } permissions } }' }),
  });
  const body = (await response.json()) as { data?: { me: never }; errors?: unknown };
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.me;
}
