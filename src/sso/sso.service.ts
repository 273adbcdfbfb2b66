import type { EntityManager } from '@mikro-orm/postgresql';
import type { JWK } from 'jose';
import { randomBytes } from 'node:crypto';
import { decodeEncryptionKey, type Config } from '../config/env';
import type { Logger } from '../config/logger';
import { AuthMethod, Session } from '../sessions/session.entity';
import { createSession, type SessionPolicy } from '../sessions/sessions.service';
import { TokenCipher } from '../sessions/token-cipher';
import { backChannelLogout } from './backchannel-logout';
import { BearerOutcomeCache, type RecalledBearer } from './bearer-cache';
import { beginLoginTransaction, consumeLoginTransaction, discardLoginTransactions } from './login-transactions';
import { ProviderUnavailableError, RelyingParty, userClaims, type RetryPolicy } from './relying-party';
import { providerFromEnv, ssoSettings, type OidcProviderConfig, type SsoSettings } from './settings';
import type { DirectoryGroupsSource } from './directory';
import { refreshNeed, refreshSession, type RefreshNeed, type RefreshOutcome } from './session-refresh';
import { signInWithClaims, SsoLoginRefused, type SsoLoginPolicy, type SsoRefusalReason } from './sso-login';
import type { GatehouseMetrics } from '../metrics/metrics';

/**
 * The error codes single sign-on sends to the login page (`/login?error=<code>`). Each has one
 * generic message there; the detail goes to the log only.
 */
export type SsoErrorCode = SsoRefusalReason | 'idp_unavailable' | 'sso_failed';

/** A failed sign-in, with the code the login page shows. */
export class SsoFailure extends Error {
  constructor(
    readonly code: SsoErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SsoFailure';
  }
}

/**
 * Single sign-on as the HTTP routes and the GraphQL context use it: start a sign-in, complete
 * it into a session, refresh a session at the provider, act on a back-channel logout, build the
 * provider logout URL, authenticate a provider access token.
 */
export class SsoService {
  readonly relyingParty: RelyingParty;
  /** Seals refresh tokens at rest; null: they are not kept, and sessions are not refreshed. */
  private readonly cipher: TokenCipher | null;
  private warnedNoCipher = false;
  /** The sign-in policy: the settings' groups claim, requirement and e-mail trust, and the provisioned directory groups. */
  private readonly loginPolicy: SsoLoginPolicy;
  private readonly metrics: GatehouseMetrics | null;
  /** What recent provider access tokens' sign-ins came to (bearer-cache.ts). */
  private readonly bearerOutcomes: BearerOutcomeCache;

  constructor(
    readonly settings: SsoSettings,
    private readonly logger: Logger,
    private readonly sessionPolicy: SessionPolicy,
    options: {
      retry?: RetryPolicy;
      cipher?: TokenCipher | null;
      directoryGroups?: DirectoryGroupsSource;
      metrics?: GatehouseMetrics | null;
    } = {},
  ) {
    this.metrics = options.metrics ?? null;
    this.relyingParty = new RelyingParty(settings, logger, options.retry);
    this.cipher = options.cipher ?? null;
    this.loginPolicy = {
      groupsClaim: settings.groupsClaim,
      requireMappedGroup: settings.requireMappedGroup,
      trustEmail: settings.trustEmail,
      linkByEmail: settings.linkByEmail,
      groupsClaimAllowString: settings.groupsClaimAllowString,
      directoryGroups: options.directoryGroups,
      metrics: options.metrics ?? undefined,
    };
    this.bearerOutcomes = new BearerOutcomeCache(options.directoryGroups);
  }

  start(): void {
    this.relyingParty.start();
  }

  stop(): void {
    this.relyingParty.stop();
  }

  /** Provider access tokens are accepted as bearer tokens only when OIDC_API_AUDIENCE is set. */
  get bearerTokensEnabled(): boolean {
    return this.settings.apiAudience !== null;
  }

  /**
   * Records a new attempt (state, nonce, PKCE verifier, `next`) and returns the provider URL
   * to send the browser to, with the attempt's state. What one client can make it write is
   * bounded, without ever refusing it: `client` (its address) keeps at most
   * MAX_PENDING_PER_CLIENT attempts, the oldest deleted as new ones come (`beginLoginTransaction`),
   * and the attempts its browser gave up (`superseded`: the states that fell out of its state
   * cookie) are deleted.
   *
   * @throws SsoFailure `idp_unavailable` while the provider cannot be discovered (nothing is
   *   written); `sso_failed` when the attempt cannot be stored.
   */
  async beginLogin(
    em: EntityManager,
    next: string,
    options: { forceLogin?: boolean; client?: string; superseded?: readonly string[] } = {},
  ): Promise<{ url: string; state: string }> {
    try {
      await this.relyingParty.config(); // before writing anything: no transaction for a provider that is down
      await discardLoginTransactions(em, options.superseded ?? []);
      const attempt = await beginLoginTransaction(em, next, options.client ?? '');
      return { url: (await this.relyingParty.authorizationUrl(attempt, options)).href, state: attempt.state };
    } catch (error) {
      throw translate(error, this.logger, 'single sign-on could not start');
    }
  }

  /**
   * Completes the attempt the callback's `state` names: consumes it (once only; expired →
   * refused), runs the code flow with every check on, applies the login policy and starts a
   * session in the same transaction. Returns the session token and where to go next.
   *
   * @throws SsoFailure with a generic code; the detail is logged, nothing is persisted
   *   (except the audit entry of a policy refusal).
   */
  async completeLogin(
    em: EntityManager,
    callbackQuery: string,
    meta: { userAgent: string; ipAddress: string; replacing?: string | null },
  ): Promise<{ token: string; session: Session; next: string }> {
    try {
      const query = new URLSearchParams(callbackQuery);
      const state = query.get('state') ?? '';
      const attempt = await consumeLoginTransaction(em, state);
      if (!attempt) throw new Error('unknown, used or expired login transaction (state)');
      if (query.has('error')) throw new Error(`the provider answered ${query.get('error')}: ${query.get('error_description') ?? ''}`);
      const completed = await this.relyingParty.completeLogin(callbackQuery, attempt);
      const refresh = await this.sealRefreshToken(completed.refreshToken);
      const { result } = await signInWithClaims(
        em,
        { issuer: this.relyingParty.issuer, claims: userClaims(completed.claims), via: 'login' },
        this.loginPolicy,
        this.logger,
        (tx, user) =>
          createSession(
            tx,
            user,
            { authMethod: AuthMethod.OIDC, idToken: completed.idToken, providerSid: completed.sid, refresh, ...meta },
            this.sessionPolicy,
          ),
      );
      this.metrics?.signIn('sso', 'allowed');
      return { ...result, next: attempt.next };
    } catch (error) {
      const failure = translate(error, this.logger, 'single sign-on failed');
      this.metrics?.signIn('sso', 'refused', failure.code);
      throw failure;
    }
  }

  /** The refresh token sealed for the session, first due after SSO_REFRESH_INTERVAL; null when there is none or no key to seal it. */
  private async sealRefreshToken(refreshToken: string | null): Promise<{ sealedToken: string; dueAt: Date } | null> {
    if (!refreshToken) return null;
    if (!this.cipher) {
      if (!this.warnedNoCipher)
        this.logger.warn(
          'single sign-on: the provider issues refresh tokens but SESSION_ENCRYPTION_KEY is unset; they are discarded and sessions are not refreshed',
        );
      this.warnedNoCipher = true;
      return null;
    }
    return { sealedToken: await this.cipher.seal(refreshToken), dueAt: new Date(Date.now() + this.settings.refreshInterval * 1000) };
  }

  /** What this request must do about its session's refresh (no statement; see `refreshNeed`). */
  refreshNeed(session: Pick<Session, 'refreshDueAt' | 'refreshingUntil'>): RefreshNeed {
    return refreshNeed(session, Date.now(), this.settings.refreshGrace);
  }

  /** Refreshes a due session at the provider (see `refreshSession` in session-refresh.ts). */
  refreshSession(em: EntityManager, session: Session): Promise<RefreshOutcome> {
    return refreshSession(em, session, {
      relyingParty: this.relyingParty,
      settings: this.settings,
      loginPolicy: this.loginPolicy,
      cipher: this.cipher,
      logger: this.logger,
    });
  }

  /**
   * Acts on a provider's back-channel logout token (see backchannel-logout.ts); returns how many
   * sessions ended.
   *
   * @throws LogoutTokenRefused for a token that fails a check or was used before.
   */
  backChannelLogout(em: EntityManager, logoutToken: string): Promise<number> {
    return backChannelLogout(em, this.relyingParty, this.logger, logoutToken);
  }

  /** Gatehouse's public JWK Set (the private_key_jwt key), for `/oidc/jwks.json`. */
  clientJwks(): Promise<{ keys: JWK[] }> {
    return this.relyingParty.clientJwks();
  }

  /**
   * Where to send the browser once `session` has ended, to sign out at the provider too
   * (RP-initiated logout, the session's ID token as `id_token_hint`); null for a password
   * session or a provider that offers no logout. Ask before ending the session: its ID token
   * goes with it.
   */
  async logoutUrl(em: EntityManager, session: Pick<Session, 'id' | 'authMethod'>): Promise<string | null> {
    if (session.authMethod !== AuthMethod.OIDC) return null;
    const withToken = await em.findOne(Session, { id: session.id }, { populate: ['idToken'] });
    return this.relyingParty.endSessionUrl(withToken?.idToken ?? null);
  }

  /**
   * The user behind a provider-issued JWT access token, through the same policy as a sign-in
   * (groups re-mapped, disabled users refused) but without a session; null when the token
   * is not valid, bearer tokens are off, or the policy refuses. The token is verified on every
   * request; the sign-in runs again only when something it read has changed since the token's
   * last one (`BearerOutcomeCache`), which also reads the user's permissions (null: unknown, or a superuser's).
   */
  async authenticateBearer(em: EntityManager, jwt: string): Promise<RecalledBearer | null> {
    if (!this.bearerTokensEnabled) return null;
    try {
      const payload = await this.relyingParty.verifyAccessToken(jwt);
      // The same token again, with nothing its sign-in read changed since: the same user, at the
      // cost of one statement (bearer-cache.ts).
      const key = BearerOutcomeCache.keyOf(jwt);
      const recalled = await this.bearerOutcomes.recall(em, key);
      if (recalled) return recalled;
      const { issuer } = this.relyingParty;
      const claims = userClaims(payload as Record<string, unknown>);
      const read = await this.bearerOutcomes.before(em, issuer, payload.sub);
      const { outcome } = await signInWithClaims(em, { issuer, claims, via: 'bearer' }, this.loginPolicy, this.logger);
      if (typeof payload.exp === 'number') this.bearerOutcomes.remember(key, payload.exp * 1000, read, issuer, payload.sub, outcome);
      return { user: outcome.user, permissions: null };
    } catch (error) {
      if (!(error instanceof SsoLoginRefused)) this.logger.info({ err: error }, 'bearer access token refused');
      return null;
    }
  }
}

/**
 * The cipher for refresh tokens: SESSION_ENCRYPTION_KEY's; with the development IdP and no key,
 * a key of this run only (the development IdP forgets its tokens at restart anyway); otherwise
 * none, and sessions are not refreshed (a warning says so).
 */
function sessionCipher(config: Config, logger: Logger, developmentProvider: boolean): TokenCipher | null {
  const key = config.SESSION_ENCRYPTION_KEY ? decodeEncryptionKey(config.SESSION_ENCRYPTION_KEY) : null;
  if (key) return new TokenCipher(key);
  if (developmentProvider) return new TokenCipher(randomBytes(32));
  logger.warn(
    'single sign-on: SESSION_ENCRYPTION_KEY is unset, so refresh tokens are not kept and sessions are not refreshed at the provider (back-channel logout still works)',
  );
  return null;
}

function translate(error: unknown, logger: Logger, message: string): SsoFailure {
  if (error instanceof SsoFailure) return error;
  if (error instanceof SsoLoginRefused) return new SsoFailure(error.reason, error.message, { cause: error });
  if (error instanceof ProviderUnavailableError) {
    logger.warn({ err: error.cause ?? error }, `${message}: identity provider unavailable`);
    return new SsoFailure('idp_unavailable', 'the identity provider is unavailable', { cause: error });
  }
  logger.warn({ err: error }, message);
  return new SsoFailure('sso_failed', 'single sign-on failed', { cause: error });
}

/** Whatever runs beside Gatehouse to provide SSO (e.g. the development IdP), stopped with it. */
export interface ProviderHandle extends OidcProviderConfig {
  stop(): Promise<void> | void;
}

/**
 * Starts single sign-on: the provider from OIDC_ISSUER, else (outside production) the one
 * `devProvider` starts, else none (SSO answers "identity provider unavailable"). Discovery
 * runs in the background, so an unreachable provider never stops Gatehouse from starting.
 */
export async function startSso(
  config: Config,
  logger: Logger,
  sessionPolicy: SessionPolicy,
  options: {
    devProvider?: () => Promise<ProviderHandle>;
    retry?: RetryPolicy;
    /** The directory groups provisioning pushed (SCIM), read at each sign-in. */
    directoryGroups?: DirectoryGroupsSource;
    metrics?: GatehouseMetrics | null;
  } = {},
): Promise<{ sso: SsoService | null; stop(): Promise<void> }> {
  let provider: OidcProviderConfig | null = providerFromEnv(config);
  let handle: ProviderHandle | null = null;
  if (!provider && config.NODE_ENV !== 'production' && options.devProvider) {
    try {
      handle = await options.devProvider();
      provider = handle; // the development IdP warns that it is on as it starts
    } catch (error) {
      // Like an unreachable provider, a development IdP that cannot start must not stop Gatehouse.
      logger.error({ err: error }, 'the development identity provider could not start; single sign-on is off');
      return { sso: null, stop: async () => undefined };
    }
  }
  if (!provider) {
    logger.warn('single sign-on is off: OIDC_ISSUER is unset (sign in with a password)');
    return { sso: null, stop: async () => undefined };
  }
  const sso = new SsoService(ssoSettings(config, provider), logger, sessionPolicy, {
    retry: options.retry,
    cipher: sessionCipher(config, logger, handle !== null),
    directoryGroups: options.directoryGroups,
    metrics: options.metrics,
  });
  sso.start();
  return {
    sso,
    async stop() {
      sso.stop();
      await handle?.stop();
    },
  };
}
