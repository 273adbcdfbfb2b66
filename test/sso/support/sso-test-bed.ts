import { MyAccountDocument, type MyAccountQuery } from '../../generated/graphql';
import { Browser } from '../../support/browser';
import { graphqlClient } from '../../support/graphql-client';
import { freePort } from '../../support/ports';
import { startTestServer, type TestServer } from '../../support/server';
import { startTestIdp, type TestIdp } from './test-idp';

/**
 * What the bed needs of an OpenID provider: the real one (test-idp.ts, oidc-provider) or the
 * stand-in for the faults a real provider cannot be made to emit (evil-idp.ts).
 */
export interface OpenIdProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The account the next authorization request signs in. */
  nextLogin: string | null;
  stop(): Promise<void>;
}

/** Gatehouse's client registration at the provider. */
export interface ClientRegistration {
  redirectUri: string;
  postLogoutRedirectUri: string;
  /** Where Gatehouse takes back-channel logout tokens (a provider registers it when its test wants it). */
  backchannelLogoutUri: string;
  /** Where Gatehouse publishes its private_key_jwt key. */
  jwksUri: string;
  groupsClaim?: string;
}

export interface SsoTestBedOptions<P extends OpenIdProvider> {
  /** Starts the provider: by default the real oidc-provider of test-idp.ts; `startEvilIdp` for bad ID tokens. */
  provider?: (client: ClientRegistration) => Promise<P>;
  /** The claim the provider puts the groups in, and Gatehouse's OIDC_GROUPS_CLAIM (default `groups`). */
  groupsClaim?: string;
  /** Gatehouse's configuration over the bed's (OIDC_HTTP_TIMEOUT, OIDC_USE_USERINFO, OIDC_API_AUDIENCE, …). */
  env?: Record<string, string>;
  /** Keep Gatehouse's log lines in `server.logs`. */
  logs?: boolean;
  /** Runs once the provider is up, before Gatehouse starts: to make it hang on discovery, or take it down. */
  beforeGatehouse?: (idp: P) => void | Promise<void>;
  /** Resolve only once Gatehouse's background discovery succeeded (default); false when the provider cannot answer yet. */
  waitForDiscovery?: boolean;
}

export interface SsoTestBed<P extends OpenIdProvider = TestIdp> {
  readonly server: TestServer;
  readonly idp: P;
  /** Gatehouse's PUBLIC_URL (http://127.0.0.1:<port>). */
  readonly publicUrl: string;
  /** Gatehouse's single sign-on configuration (PUBLIC_URL and OIDC_*), to start another instance like it. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Starts a sign-in (as `sub`, when given) in a fresh browser and follows the provider's redirects
   * up to, not into, Gatehouse's callback; returns the browser and the callback URL.
   */
  authorize(sub?: string, next?: string): Promise<{ browser: Browser; callbackUrl: string }>;
  /** A whole sign-in: authorize, then the callback. Returns the callback's response and the session cookie's value. */
  signIn(sub?: string, next?: string): Promise<{ browser: Browser; response: Response; sessionToken: string | null }>;
  /** The `me` query with the session cookie (null: no valid session). */
  me(sessionToken: string | null): Promise<MyAccountQuery['me']>;
  /** Waits for Gatehouse's background discovery of the provider. */
  waitUntilReady(timeoutMs?: number): Promise<void>;
  /** Stops Gatehouse (dropping its database) and the provider. */
  stop(): Promise<void>;
}

/**
 * The one single sign-on fixture: an OpenID provider on 127.0.0.1 (by default a real
 * oidc-provider, test-idp.ts) with Gatehouse registered as its client, and a Gatehouse
 * (test/support/server.ts) on a database of its own configured to sign in through it. What
 * differs per test file is an option; `stop()` disposes of both.
 */
export async function startSsoTestBed<P extends OpenIdProvider = TestIdp>(options: SsoTestBedOptions<P> = {}): Promise<SsoTestBed<P>> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const provider = options.provider ?? (startTestIdp as unknown as (client: ClientRegistration) => Promise<P>);
  const idp = await provider({
    redirectUri: `${publicUrl}/oidc/callback/`,
    postLogoutRedirectUri: `${publicUrl}/login`,
    backchannelLogoutUri: `${publicUrl}/oidc/backchannel-logout/`,
    jwksUri: `${publicUrl}/oidc/jwks.json`,
    groupsClaim: options.groupsClaim,
  });
  const env: Record<string, string> = {
    PUBLIC_URL: publicUrl,
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: idp.clientId,
    OIDC_CLIENT_SECRET: idp.clientSecret,
    ...(options.groupsClaim ? { OIDC_GROUPS_CLAIM: options.groupsClaim } : {}),
    ...options.env,
  };
  let server: TestServer;
  try {
    await options.beforeGatehouse?.(idp);
    server = await startTestServer({ env: { ...env, PORT: String(port) }, logs: options.logs });
  } catch (error) {
    await idp.stop();
    throw error;
  }
  const stop = async () => {
    await server.stop();
    await idp.stop();
  };
  if (options.waitForDiscovery ?? true)
    await waitUntilSsoReady(publicUrl).catch((error: unknown) => stop().then(() => Promise.reject(error)));

  const authorize: SsoTestBed<P>['authorize'] = async (sub, next = '/graphql') => {
    if (sub !== undefined) idp.nextLogin = sub;
    const browser = new Browser();
    const callback = `${publicUrl}/oidc/callback/`;
    const followed = await browser.follow(
      `${publicUrl}/oidc/authenticate/?next=${encodeURIComponent(next)}`,
      (u) => !u.href.startsWith(callback),
    );
    if (!followed.next) {
      throw new Error(
        `the flow did not reach the callback: ${followed.url} answered ${followed.response.status} ${await followed.response.text()}`,
      );
    }
    return { browser, callbackUrl: followed.next.href };
  };

  return {
    server,
    idp,
    publicUrl,
    env,
    authorize,
    async signIn(sub, next) {
      const { browser, callbackUrl } = await authorize(sub, next);
      const response = await browser.get(callbackUrl);
      return { browser, response, sessionToken: browser.cookie('gatehouse_session') ?? null };
    },
    async me(sessionToken) {
      const graphql = graphqlClient(publicUrl, { headers: sessionToken ? { cookie: `gatehouse_session=${sessionToken}` } : {} });
      const result = await graphql(MyAccountDocument);
      if (!result.data) throw new Error(JSON.stringify(result.errors));
      return result.data.me;
    },
    waitUntilReady: (timeoutMs) => waitUntilSsoReady(publicUrl, timeoutMs),
    stop,
  };
}

/** Waits for Gatehouse's background discovery (it starts without waiting for the provider). */
export async function waitUntilSsoReady(publicUrl: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${publicUrl}/oidc/authenticate/`, { redirect: 'manual' });
    if (response.status === 302) return;
    if (Date.now() > deadline) throw new Error(`single sign-on not ready: ${response.status} ${response.headers.get('location')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
