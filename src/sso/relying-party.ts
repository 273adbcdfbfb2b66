import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import * as client from 'openid-client';
import { LOOPBACK_HOSTS } from '../config/env';
import type { Logger } from '../config/logger';
import { callbackUrl, postLogoutUrl, type SsoSettings } from './settings';

/**
 * The identity provider cannot be reached: discovery has not succeeded (yet), or a call to it
 * timed out (OIDC_HTTP_TIMEOUT) or failed on the network. Single sign-on answers "identity
 * provider unavailable"; the cause is logged.
 */
export class ProviderUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('the identity provider is unavailable', { cause });
    this.name = 'ProviderUnavailableError';
  }
}

/** What an authorization request needs from the login transaction. */
export interface AuthorizationChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** A completed authorization code flow whose every check passed. */
export interface CompletedLogin {
  /** The ID token's claims, merged with userinfo's when configured (same `sub`). */
  claims: Record<string, unknown>;
  subject: string;
  /** The raw ID token, kept with the session only for `id_token_hint` at logout. */
  idToken: string;
}

export interface RetryPolicy {
  /** Delay before the first retry of a failed discovery; doubles up to `maxMs`. */
  initialMs: number;
  maxMs: number;
}

const DEFAULT_RETRY: RetryPolicy = { initialMs: 1_000, maxMs: 60_000 };

// Claims about the token itself, not the user: never merged from userinfo, never used for mapping.
const PROTOCOL_CLAIMS = ['iss', 'aud', 'azp', 'exp', 'iat', 'nbf', 'auth_time', 'nonce', 'at_hash', 'c_hash', 's_hash', 'sid', 'jti'];

/**
 * The relying party: a thin façade over openid-client 6 with every check on.
 *
 * - Discovery from the issuer; `allowInsecureRequests` only for an `http://` loopback issuer.
 *   An unreachable provider does not stop Gatehouse: calls throw ProviderUnavailableError and
 *   discovery is retried in the background with exponential backoff.
 * - The client metadata pins `id_token_signed_response_alg`, so an unsigned (`alg: none`) or
 *   HMAC-signed ID token is refused, and `enableNonRepudiationChecks` verifies the ID token's
 *   signature against the provider's JWKS (openid-client skips that by default).
 * - Every HTTP call to the provider has `OIDC_HTTP_TIMEOUT`.
 * - The redirect URI is built from PUBLIC_URL only, never from request headers.
 */
export class RelyingParty {
  private configuration: client.Configuration | null = null;
  private discovering: Promise<client.Configuration> | null = null;
  private failures = 0;
  private nextAttemptAt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private jwks: ReturnType<typeof createRemoteJWKSet> | null = null;

  constructor(
    readonly settings: SsoSettings,
    private readonly logger: Logger,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  /** Starts discovery in the background; never throws. */
  start(): void {
    this.discover().catch(() => undefined);
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** True once discovery has succeeded. */
  get ready(): boolean {
    return this.configuration !== null;
  }

  /** The discovered configuration; throws ProviderUnavailableError while the provider cannot be reached. */
  async config(): Promise<client.Configuration> {
    if (this.configuration) return this.configuration;
    if (this.discovering) return this.discovering;
    if (Date.now() < this.nextAttemptAt) throw new ProviderUnavailableError();
    return this.discover();
  }

  private discover(): Promise<client.Configuration> {
    if (this.discovering) return this.discovering;
    const { issuer, clientId, clientSecret, signingAlgorithm, httpTimeout } = this.settings;
    const execute: Array<(config: client.Configuration) => void> = [client.enableNonRepudiationChecks];
    // Plain HTTP only for a provider on this machine (development IdP, tests); env.ts refuses it elsewhere.
    if (isLoopbackHttp(issuer)) execute.unshift(client.allowInsecureRequests);
    this.discovering = client
      .discovery(
        new URL(issuer),
        clientId,
        {
          client_secret: clientSecret,
          id_token_signed_response_alg: signingAlgorithm,
          redirect_uris: [callbackUrl(this.settings)],
          response_types: ['code'],
        },
        client.ClientSecretBasic(clientSecret),
        { execute, timeout: httpTimeout },
      )
      .then(
        (configuration) => {
          this.configuration = configuration;
          this.failures = 0;
          const jwksUri = configuration.serverMetadata().jwks_uri;
          this.jwks = jwksUri ? createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: httpTimeout * 1000 }) : null;
          this.logger.info({ issuer }, 'single sign-on: identity provider discovered');
          return configuration;
        },
        (error: unknown) => {
          this.failures += 1;
          const delay = Math.min(this.retry.maxMs, this.retry.initialMs * 2 ** (this.failures - 1));
          this.nextAttemptAt = Date.now() + delay;
          this.logger.warn({ err: error, issuer, retryInMs: delay }, 'single sign-on: identity provider unreachable; retrying later');
          this.scheduleRetry(delay);
          throw new ProviderUnavailableError(error);
        },
      )
      .finally(() => {
        this.discovering = null;
      });
    return this.discovering;
  }

  private scheduleRetry(delay: number): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped && !this.configuration) this.discover().catch(() => undefined);
    }, delay);
    this.retryTimer.unref();
  }

  /** The provider's authorization URL for one attempt: code flow, PKCE S256, state and nonce. */
  async authorizationUrl(checks: AuthorizationChecks, options: { forceLogin?: boolean } = {}): Promise<URL> {
    const config = await this.config();
    return client.buildAuthorizationUrl(config, {
      ...(options.forceLogin ? { prompt: 'login' } : {}),
      redirect_uri: callbackUrl(this.settings),
      response_type: 'code',
      scope: this.settings.scopes,
      state: checks.state,
      nonce: checks.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
      code_challenge_method: 'S256',
    });
  }

  /**
   * Completes the code flow for the callback's query string: `iss` (RFC 9207, when the
   * provider advertises it) and `state` are checked, the code is exchanged with the PKCE
   * verifier, and the ID token must be present, signed with the pinned algorithm by a key in
   * the provider's JWKS, issued by the issuer for this client, unexpired and carry `nonce`.
   * With OIDC_USE_USERINFO the userinfo claims are merged in after checking their `sub`.
   */
  async completeLogin(callbackQuery: string, checks: AuthorizationChecks): Promise<CompletedLogin> {
    const config = await this.config();
    // The redirect_uri sent to the token endpoint derives from this URL: PUBLIC_URL, never Host.
    const current = new URL(callbackUrl(this.settings));
    current.search = callbackQuery;
    // Token request, JWKS (signature check) and userinfo are each bounded by the timeout that
    // discovery stored in `config` (openid-client applies it to every call made with it).
    const tokens = await client
      .authorizationCodeGrant(config, current, {
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        pkceCodeVerifier: checks.codeVerifier,
        idTokenExpected: true,
      })
      .catch(unreachableAsUnavailable);
    const idClaims = tokens.claims();
    if (!idClaims || !tokens.id_token) throw new Error('the token response carries no ID token');
    const claims: Record<string, unknown> = { ...idClaims };
    if (this.settings.useUserinfo) {
      // fetchUserInfo refuses a response whose `sub` differs from the ID token's (OIDC Core 5.3.2).
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub).catch(unreachableAsUnavailable);
      for (const [key, value] of Object.entries(userinfo)) if (!PROTOCOL_CLAIMS.includes(key) && key !== 'sub') claims[key] = value;
    }
    return { claims, subject: idClaims.sub, idToken: tokens.id_token };
  }

  /**
   * Where to send the browser after the local session ended, to end the provider session too:
   * the discovered `end_session_endpoint` with `id_token_hint` and `post_logout_redirect_uri`;
   * for an Auth0 tenant without one, Auth0's `/v2/logout`; otherwise null.
   */
  endSessionUrl(idToken: string | null): string | null {
    const returnTo = postLogoutUrl(this.settings);
    const endpoint = this.configuration?.serverMetadata().end_session_endpoint;
    if (this.configuration && endpoint) {
      const parameters: Record<string, string> = { post_logout_redirect_uri: returnTo, client_id: this.settings.clientId };
      if (idToken) parameters.id_token_hint = idToken;
      return client.buildEndSessionUrl(this.configuration, parameters).href;
    }
    const issuer = new URL(this.settings.issuer);
    if (issuer.protocol === 'https:' && /(^|\.)auth0\.com$/i.test(issuer.hostname)) {
      const url = new URL('/v2/logout', issuer.origin);
      url.searchParams.set('returnTo', returnTo);
      url.searchParams.set('client_id', this.settings.clientId);
      return url.href;
    }
    return null;
  }

  /**
   * Verifies a provider-issued JWT access token (OIDC_API_AUDIENCE): signature by a key in the
   * provider's JWKS with the pinned algorithm only (no `none`, no HMAC confusion), the
   * discovered issuer, the configured audience, `exp` present and unexpired, a `sub`.
   *
   * @throws on any failure, including an unreachable provider.
   */
  async verifyAccessToken(jwt: string): Promise<JWTPayload & { sub: string }> {
    const audience = this.settings.apiAudience;
    if (!audience) throw new Error('bearer access tokens are not enabled (OIDC_API_AUDIENCE is unset)');
    const config = await this.config();
    if (!this.jwks) throw new Error('the provider publishes no jwks_uri');
    const { payload } = await jwtVerify(jwt, this.jwks, {
      issuer: config.serverMetadata().issuer,
      audience,
      algorithms: [this.settings.signingAlgorithm],
      requiredClaims: ['exp', 'sub'],
    });
    return payload as JWTPayload & { sub: string };
  }

  /** The issuer identifier as discovered (what `SsoIdentity.issuer` stores). */
  get issuer(): string {
    return this.configuration?.serverMetadata().issuer ?? this.settings.issuer;
  }
}

/**
 * Rethrows a timeout or network failure (however deeply openid-client wrapped it) as
 * ProviderUnavailableError, and anything else — a failed check — as it is.
 */
function unreachableAsUnavailable(error: unknown): never {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    const code = (cause as { code?: unknown }).code;
    if (cause.name === 'TimeoutError' || code === 'OAUTH_TIMEOUT' || (cause instanceof TypeError && cause.message === 'fetch failed')) {
      throw new ProviderUnavailableError(error);
    }
  }
  throw error;
}

function isLoopbackHttp(issuer: string): boolean {
  const url = new URL(issuer);
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/** Claims a token carries about itself, left out of what is stored and mapped. */
export function userClaims(claims: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(claims).filter(([key]) => !PROTOCOL_CLAIMS.includes(key)));
}
