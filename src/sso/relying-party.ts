import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWK, type JWTPayload } from 'jose';
import * as client from 'openid-client';
import { LOOPBACK_HOSTS, type TokenAuthMethod } from '../config/env';
import type { Logger } from '../config/logger';
import { loadClientSigningKey, type ClientSigningKey } from './client-key';
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

/**
 * The provider refused a session's refresh: the grant is gone (`invalid_grant`: revoked, expired,
 * the user disabled, consent withdrawn), or what it returned fails a check (a new ID token about
 * someone else, OIDC Core §12.2). The session ends.
 */
export class RefreshRefusedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RefreshRefusedError';
  }
}

/** None of the provider's token endpoint authentication methods is one Gatehouse is configured for. */
export class ClientAuthenticationUnsupported extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientAuthenticationUnsupported';
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
  /** The raw ID token, kept with the session for `id_token_hint` at logout and to compare refreshed ones with. */
  idToken: string;
  /** The provider's session ID (`sid`), which its back-channel logout names; null when it sends none. */
  sid: string | null;
  /** The refresh token, when the provider issued one. */
  refreshToken: string | null;
}

/** What a refresh at the provider returned, every check passed. */
export interface RefreshedTokens {
  /** The claims of the new ID token (or userinfo), protocol claims included; null when it returned neither. */
  claims: Record<string, unknown> | null;
  /** The new ID token, when one came. */
  idToken: string | null;
  /** The new refresh token, when the provider rotated it. */
  refreshToken: string | null;
}

/** A verified back-channel logout token's claims (its meaning is checked by backchannel-logout.ts). */
export type LogoutTokenClaims = JWTPayload & Record<string, unknown>;

export interface RetryPolicy {
  /** Delay before the first retry of a failed discovery; doubles up to `maxMs`. */
  initialMs: number;
  maxMs: number;
}

const DEFAULT_RETRY: RetryPolicy = { initialMs: 1_000, maxMs: 60_000 };

/** Logout tokens older than this (by `iat`) are refused: the provider sends them at once. */
export const LOGOUT_TOKEN_MAX_AGE_SECONDS = 300;

/** What a provider that does not say supports (RFC 8414 §2: `token_endpoint_auth_methods_supported`). */
const AUTH_METHODS_DEFAULT = ['client_secret_basic'];

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
 *   signature against the provider's JWKS (openid-client skips that by default). `exp`, `nbf`
 *   and `iat` get OIDC_CLOCK_TOLERANCE, for ID tokens and provider access tokens alike; an
 *   `iat` beyond it in the future is refused.
 * - Every HTTP call to the provider has `OIDC_HTTP_TIMEOUT`.
 * - The redirect URI is built from PUBLIC_URL only, never from request headers.
 * - The token endpoint authentication is OIDC_TOKEN_AUTH_METHOD, or the first of the provider's
 *   `token_endpoint_auth_methods_supported` that Gatehouse has what it needs for (a secret for
 *   client_secret_basic/post, a private key for private_key_jwt, neither for none), through
 *   openid-client's own ClientSecretBasic/ClientSecretPost/PrivateKeyJwt/None.
 */
export class RelyingParty {
  private configuration: client.Configuration | null = null;
  private discovering: Promise<client.Configuration> | null = null;
  private failures = 0;
  private nextAttemptAt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private jwks: ReturnType<typeof createRemoteJWKSet> | null = null;
  private signingKey: Promise<ClientSigningKey> | null = null;
  /** The token endpoint authentication method in use, once discovered. */
  tokenAuthMethod: TokenAuthMethod | null = null;

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
    const { issuer } = this.settings;
    this.discovering = this.buildConfiguration()
      .then(
        (configuration) => {
          this.configuration = configuration;
          this.failures = 0;
          const jwksUri = configuration.serverMetadata().jwks_uri;
          this.jwks = jwksUri ? createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: this.settings.httpTimeout * 1000 }) : null;
          this.logger.info({ issuer, tokenAuthMethod: this.tokenAuthMethod }, 'single sign-on: identity provider discovered');
          return configuration;
        },
        (error: unknown) => {
          this.failures += 1;
          const delay = Math.min(this.retry.maxMs, this.retry.initialMs * 2 ** (this.failures - 1));
          this.nextAttemptAt = Date.now() + delay;
          if (error instanceof ClientAuthenticationUnsupported)
            this.logger.error({ issuer, retryInMs: delay }, `single sign-on cannot start: ${error.message}`);
          else this.logger.warn({ err: error, issuer, retryInMs: delay }, 'single sign-on: identity provider unreachable; retrying later');
          this.scheduleRetry(delay);
          throw new ProviderUnavailableError(error);
        },
      )
      .finally(() => {
        this.discovering = null;
      });
    return this.discovering;
  }

  /**
   * Discovery, then the client's configuration with the authentication method chosen from what
   * the provider advertises: every check on (`enableNonRepudiationChecks`), every call bounded by
   * OIDC_HTTP_TIMEOUT, plain HTTP only for a loopback provider.
   */
  private async buildConfiguration(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret, signingAlgorithm, httpTimeout } = this.settings;
    // Plain HTTP only for a provider on this machine (development IdP, tests); env.ts refuses it elsewhere.
    const insecure = isLoopbackHttp(issuer);
    const discovered = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
      execute: insecure ? [client.allowInsecureRequests] : [],
      timeout: httpTimeout,
    });
    const server = discovered.serverMetadata();
    const method = chooseTokenAuthMethod(this.settings, server.token_endpoint_auth_methods_supported);
    const configuration = new client.Configuration(
      server,
      clientId,
      {
        ...(clientSecret !== null && method.startsWith('client_secret_') ? { client_secret: clientSecret } : {}),
        id_token_signed_response_alg: signingAlgorithm,
        redirect_uris: [callbackUrl(this.settings)],
        response_types: ['code'],
        token_endpoint_auth_method: method,
        // OIDC_CLOCK_TOLERANCE, the same for ID tokens as for bearer JWTs (verifyAccessToken).
        [client.clockTolerance]: this.settings.clockTolerance,
      },
      await this.clientAuthentication(method),
    );
    if (insecure) client.allowInsecureRequests(configuration);
    client.enableNonRepudiationChecks(configuration);
    configuration.timeout = httpTimeout;
    this.tokenAuthMethod = method;
    return configuration;
  }

  /** openid-client's implementation of `method`. */
  private async clientAuthentication(method: TokenAuthMethod): Promise<client.ClientAuth> {
    switch (method) {
      case 'client_secret_basic':
        // RFC 6749 §2.3.1: id and secret form-urlencoded before base64 (a `-` travels as %2D).
        return client.ClientSecretBasic(this.settings.clientSecret!);
      case 'client_secret_post':
        return client.ClientSecretPost(this.settings.clientSecret!);
      case 'private_key_jwt': {
        const key = await this.clientSigningKey();
        return client.PrivateKeyJwt({ key: key!.privateKey, kid: key!.kid });
      }
      case 'none':
        return client.None();
    }
  }

  /** Gatehouse's private_key_jwt key (OIDC_CLIENT_PRIVATE_KEY), or null when none is configured. */
  clientSigningKey(): Promise<ClientSigningKey | null> {
    if (!this.settings.clientPrivateKey) return Promise.resolve(null);
    this.signingKey ??= loadClientSigningKey(this.settings.clientPrivateKey, this.settings.clientKeyId);
    return this.signingKey;
  }

  /** Gatehouse's public JWK Set for `/oidc/jwks.json`: the private_key_jwt key's public half, if any. */
  async clientJwks(): Promise<{ keys: JWK[] }> {
    const key = await this.clientSigningKey();
    return { keys: key ? [key.publicJwk] : [] };
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
    refuseIssuedInFuture(idClaims, this.settings.clockTolerance, 'ID token');
    const claims: Record<string, unknown> = { ...idClaims };
    if (this.settings.useUserinfo) {
      // fetchUserInfo refuses a response whose `sub` differs from the ID token's (OIDC Core 5.3.2).
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub).catch(unreachableAsUnavailable);
      for (const [key, value] of Object.entries(userinfo)) if (!PROTOCOL_CLAIMS.includes(key) && key !== 'sub') claims[key] = value;
    }
    return {
      claims,
      subject: idClaims.sub,
      idToken: tokens.id_token,
      sid: typeof idClaims.sid === 'string' && idClaims.sid ? idClaims.sid : null,
      refreshToken: tokens.refresh_token ?? null,
    };
  }

  /**
   * Refreshes a session at the provider with its refresh token (OIDC Core §12). A new ID token is
   * checked as at sign-in (signature, issuer, audience, expiry) and, as §12.2 requires and
   * openid-client does not, must have the same `iss`, `sub`, `aud` and `azp` as `previousIdToken`
   * (the one Gatehouse verified before). With no new ID token, or with OIDC_USE_USERINFO, the
   * userinfo endpoint is asked, its `sub` checked against the original.
   *
   * @throws RefreshRefusedError when the provider refuses (`invalid_grant`) or a check fails: the session ends.
   * @throws ProviderUnavailableError when the provider cannot be reached or fails (5xx, timeout, a
   *   refused client): the session goes on within its grace period.
   */
  async refresh(refreshToken: string, previousIdToken: string): Promise<RefreshedTokens> {
    const config = await this.config();
    const previous = decodeJwt(previousIdToken);
    const tokens = await client.refreshTokenGrant(config, refreshToken).catch(classifyRefreshFailure);
    let claims: Record<string, unknown> | null = null;
    const idClaims = tokens.claims();
    if (tokens.id_token && idClaims) {
      const changed = (['iss', 'sub', 'aud', 'azp'] as const).filter((name) => !sameClaim(previous[name], idClaims[name]));
      if (changed.length) throw new RefreshRefusedError(`the refreshed ID token differs from the original in ${changed.join(', ')}`);
      claims = { ...idClaims };
    }
    const userinfoEndpoint = config.serverMetadata().userinfo_endpoint;
    if ((claims === null || this.settings.useUserinfo) && userinfoEndpoint && typeof previous.sub === 'string') {
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, previous.sub).catch(classifyRefreshFailure);
      claims ??= { sub: previous.sub };
      for (const [key, value] of Object.entries(userinfo)) if (!PROTOCOL_CLAIMS.includes(key) && key !== 'sub') claims[key] = value;
    }
    return { claims, idToken: tokens.id_token ?? null, refreshToken: tokens.refresh_token ?? null };
  }

  /**
   * Verifies a back-channel logout token's JWS (Back-Channel Logout 1.0 §2.6 steps 1-4): signed
   * with the pinned algorithm by a key of the provider's JWKS, issued by the discovered issuer
   * for this client, `iat` present and at most LOGOUT_TOKEN_MAX_AGE_SECONDS old (and not in the
   * future), `exp` not passed when present, a `jti`. What the claims mean is the caller's check.
   *
   * @throws on any failure, including an unreachable provider.
   */
  async verifyLogoutToken(jwt: string): Promise<LogoutTokenClaims> {
    const config = await this.config();
    if (!this.jwks) throw new Error('the provider publishes no jwks_uri');
    const { payload } = await jwtVerify(jwt, this.jwks, {
      issuer: config.serverMetadata().issuer,
      audience: this.settings.clientId,
      algorithms: [this.settings.signingAlgorithm],
      maxTokenAge: LOGOUT_TOKEN_MAX_AGE_SECONDS,
      // OIDC_CLOCK_TOLERANCE, as for ID tokens and bearer JWTs.
      clockTolerance: this.settings.clockTolerance,
      requiredClaims: ['iat', 'jti'],
    });
    return payload as LogoutTokenClaims;
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
   * discovered issuer, the configured audience, `exp` present and unexpired, a `sub`, and an
   * `iat` no further in the future than OIDC_CLOCK_TOLERANCE — the tolerance ID tokens get too.
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
      clockTolerance: this.settings.clockTolerance,
    });
    refuseIssuedInFuture(payload, this.settings.clockTolerance, 'access token');
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
  if (isUnreachable(error)) throw new ProviderUnavailableError(error);
  throw error;
}

/**
 * A timeout or a network failure, however deeply openid-client wrapped it. Read by name, not
 * `instanceof`: fetch's errors may come from another realm than this module's classes.
 */
function isUnreachable(error: unknown): boolean {
  let cause = error as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown } | null | undefined;
  for (let depth = 0; cause && typeof cause === 'object' && depth < 5; cause = cause.cause as typeof cause, depth++) {
    if (cause.name === 'TimeoutError' || cause.code === 'OAUTH_TIMEOUT' || (cause.name === 'TypeError' && cause.message === 'fetch failed'))
      return true;
  }
  return false;
}

/**
 * Sorts a failed refresh: `invalid_grant` (and a failed check of what came back) refuses the
 * refresh; a provider that cannot be reached, answers 5xx or refuses Gatehouse's own client
 * (`invalid_client`: a configuration problem, not the person's) is unavailable.
 */
function classifyRefreshFailure(error: unknown): never {
  if (error instanceof client.ResponseBodyError) {
    if (error.error === 'invalid_grant')
      throw new RefreshRefusedError(`the provider refused the refresh: ${error.error}`, { cause: error });
    throw new ProviderUnavailableError(error);
  }
  const response = (error as { cause?: unknown } | null)?.cause;
  if (error instanceof client.ClientError && response instanceof Response && response.status >= 500)
    throw new ProviderUnavailableError(error);
  if (isUnreachable(error)) throw new ProviderUnavailableError(error);
  throw new RefreshRefusedError('the refresh response failed a check', { cause: error });
}

/** Two values of a claim are the same: equal strings, or the same audiences in any order. */
function sameClaim(a: unknown, b: unknown): boolean {
  const list = (value: unknown) => (Array.isArray(value) ? [...value].map(String).sort() : value === undefined ? [] : [String(value)]);
  return JSON.stringify(list(a)) === JSON.stringify(list(b));
}

/**
 * The token endpoint authentication to use: OIDC_TOKEN_AUTH_METHOD when set, else the first
 * method the provider advertises (RFC 8414's default: client_secret_basic) that Gatehouse has
 * what it needs for.
 *
 * @throws ClientAuthenticationUnsupported when there is none.
 */
export function chooseTokenAuthMethod(
  settings: Pick<SsoSettings, 'tokenAuthMethod' | 'clientSecret' | 'clientPrivateKey'>,
  supported: readonly string[] | undefined,
): TokenAuthMethod {
  if (settings.tokenAuthMethod) return settings.tokenAuthMethod;
  const usable: TokenAuthMethod[] = [];
  if (settings.clientSecret !== null) usable.push('client_secret_basic', 'client_secret_post');
  if (settings.clientPrivateKey !== null) usable.push('private_key_jwt');
  if (usable.length === 0) usable.push('none');
  const offered = supported?.length ? supported : AUTH_METHODS_DEFAULT;
  const chosen = offered.find((method): method is TokenAuthMethod => (usable as string[]).includes(method));
  if (!chosen)
    throw new ClientAuthenticationUnsupported(
      `the provider's token endpoint accepts ${offered.join(', ')}, and Gatehouse is configured for ${usable.join(', ')} (set OIDC_TOKEN_AUTH_METHOD, OIDC_CLIENT_SECRET or OIDC_CLIENT_PRIVATE_KEY)`,
    );
  return chosen;
}

/**
 * Refuses a token whose `iat` is further in the future than `toleranceSeconds`: neither
 * openid-client nor jose checks it, and a token "issued" minutes ahead comes from a provider
 * whose clock is wrong or from someone minting tokens to outlive their keys' rotation.
 */
function refuseIssuedInFuture(claims: { iat?: unknown }, toleranceSeconds: number, what: string): void {
  if (typeof claims.iat === 'number' && claims.iat > Date.now() / 1000 + toleranceSeconds)
    throw new Error(`the ${what} was issued in the future (iat ${claims.iat}), beyond the clock tolerance of ${toleranceSeconds} s`);
}

function isLoopbackHttp(issuer: string): boolean {
  const url = new URL(issuer);
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/** Claims a token carries about itself, left out of what is stored and mapped. */
export function userClaims(claims: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(claims).filter(([key]) => !PROTOCOL_CLAIMS.includes(key)));
}
