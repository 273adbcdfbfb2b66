import type { Config, TokenAuthMethod } from '../config/env';

/**
 * Where the relying party signs users in: the provider's issuer and Gatehouse's client
 * registration there. It comes from `OIDC_ISSUER` / `OIDC_CLIENT_ID` / `OIDC_CLIENT_SECRET`, or
 * from the built-in development identity provider, which returns the same shape.
 */
export interface OidcProviderConfig {
  readonly issuer: string;
  readonly clientId: string;
  /** Null for a client that authenticates with a private key, or a public client. */
  readonly clientSecret: string | null;
  /** The claim holding the groups, when the provider dictates it (the development IdP); else OIDC_GROUPS_CLAIM. */
  readonly groupsClaim?: string;
}

/** Everything single sign-on needs, resolved once at start. */
export interface SsoSettings extends Omit<OidcProviderConfig, 'groupsClaim'> {
  /** Gatehouse's public base URL, without a trailing slash; redirect URIs derive from it only. */
  readonly publicUrl: string;
  readonly scopes: string;
  readonly groupsClaim: string;
  readonly useUserinfo: boolean;
  /** The one JWS algorithm accepted for ID tokens and provider access tokens. */
  readonly signingAlgorithm: string;
  /** Audience of provider-issued JWT access tokens accepted as bearer tokens; null: off. */
  readonly apiAudience: string | null;
  readonly requireMappedGroup: boolean;
  /** Seconds before any call to the provider is abandoned. */
  readonly httpTimeout: number;
  /** OIDC_TOKEN_AUTH_METHOD; null: the first of the provider's methods that Gatehouse is configured for. */
  readonly tokenAuthMethod: TokenAuthMethod | null;
  /** PEM of the private key for private_key_jwt, and its `kid` (null: the key's thumbprint). */
  readonly clientPrivateKey: string | null;
  readonly clientKeyId: string | null;
  /** OIDC_TRUST_EMAIL: an e-mail without `email_verified` counts as verified. */
  readonly trustEmail: boolean;
  /** Seconds between refreshes of a session at the provider (SSO_REFRESH_INTERVAL). */
  readonly refreshInterval: number;
  /** Seconds a session due for refresh goes on while the provider cannot be reached (SSO_REFRESH_GRACE). */
  readonly refreshGrace: number;
  /** SSO_LINK_BY_EMAIL: a first sign-in may link to an existing account by its verified e-mail (see `findOrCreateIdentity`). */
  readonly linkByEmail: boolean;
  /** OIDC_GROUPS_CLAIM_ALLOW_STRING: a groups claim that is one string counts as a list of one. */
  readonly groupsClaimAllowString: boolean;
  /** OIDC_CLOCK_TOLERANCE: seconds of clock difference allowed on `exp`, `nbf` and `iat`, for ID tokens and bearer JWTs alike. */
  readonly clockTolerance: number;
}

/** The provider configured through the environment, or null when `OIDC_ISSUER` is unset. */
export function providerFromEnv(config: Config): OidcProviderConfig | null {
  if (!config.OIDC_ISSUER || !config.OIDC_CLIENT_ID) return null;
  return { issuer: config.OIDC_ISSUER, clientId: config.OIDC_CLIENT_ID, clientSecret: config.OIDC_CLIENT_SECRET ?? null };
}

/** Combines a provider (from the environment or the development IdP) with the rest of the configuration. */
export function ssoSettings(config: Config, provider: OidcProviderConfig): SsoSettings {
  return {
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecret: provider.clientSecret,
    publicUrl: config.PUBLIC_URL.replace(/\/+$/, ''),
    scopes: config.OIDC_SCOPES,
    groupsClaim: provider.groupsClaim ?? config.OIDC_GROUPS_CLAIM,
    useUserinfo: config.OIDC_USE_USERINFO,
    signingAlgorithm: config.OIDC_ID_TOKEN_ALG,
    apiAudience: config.OIDC_API_AUDIENCE ?? null,
    requireMappedGroup: config.SSO_REQUIRE_MAPPED_GROUP,
    httpTimeout: config.OIDC_HTTP_TIMEOUT,
    tokenAuthMethod: config.OIDC_TOKEN_AUTH_METHOD ?? null,
    clientPrivateKey: config.OIDC_CLIENT_PRIVATE_KEY ?? null,
    clientKeyId: config.OIDC_CLIENT_KEY_ID ?? null,
    trustEmail: config.OIDC_TRUST_EMAIL,
    refreshInterval: config.SSO_REFRESH_INTERVAL,
    refreshGrace: config.SSO_REFRESH_GRACE,
    linkByEmail: config.SSO_LINK_BY_EMAIL,
    groupsClaimAllowString: config.OIDC_GROUPS_CLAIM_ALLOW_STRING,
    clockTolerance: config.OIDC_CLOCK_TOLERANCE,
  };
}

/** The callback URL to register at the provider. */
export const callbackUrl = (settings: Pick<SsoSettings, 'publicUrl'>): string => `${settings.publicUrl}/oidc/callback/`;
/** The back-channel logout URL to register at the provider. */
export const backchannelLogoutUrl = (settings: Pick<SsoSettings, 'publicUrl'>): string => `${settings.publicUrl}/oidc/backchannel-logout/`;
/** Where Gatehouse publishes its client key (private_key_jwt). */
export const clientJwksUrl = (settings: Pick<SsoSettings, 'publicUrl'>): string => `${settings.publicUrl}/oidc/jwks.json`;
/** Where the provider sends the browser after logout. */
export const postLogoutUrl = (settings: Pick<SsoSettings, 'publicUrl'>): string => `${settings.publicUrl}/login`;

/**
 * The groups claim and login policy in force: the running single sign-on's settings (which name
 * the development IdP's own groups claim when it is on), else the configuration.
 */
export function loginPolicyInForce(
  config: Pick<Config, 'OIDC_GROUPS_CLAIM' | 'SSO_REQUIRE_MAPPED_GROUP' | 'OIDC_GROUPS_CLAIM_ALLOW_STRING'>,
  settings: Pick<SsoSettings, 'groupsClaim' | 'requireMappedGroup' | 'groupsClaimAllowString'> | null | undefined,
): { groupsClaim: string; requireMappedGroup: boolean; groupsClaimAllowString: boolean } {
  return {
    groupsClaim: settings?.groupsClaim ?? config.OIDC_GROUPS_CLAIM,
    requireMappedGroup: settings?.requireMappedGroup ?? config.SSO_REQUIRE_MAPPED_GROUP,
    groupsClaimAllowString: settings?.groupsClaimAllowString ?? config.OIDC_GROUPS_CLAIM_ALLOW_STRING,
  };
}
