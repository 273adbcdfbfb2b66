import { ConfigError, loadConfig } from '../../src/config/env';
import { providerFromEnv, ssoSettings } from '../../src/sso/settings';

const CLIENT = { OIDC_CLIENT_ID: 'gatehouse', OIDC_CLIENT_SECRET: 's3cret-value' };

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig: single sign-on variables', () => {
  it('has safe defaults: SSO off, openid profile email, groups, RS256, no bearer audience, mapped group required, 10 s timeout', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      OIDC_SCOPES: 'openid profile email',
      OIDC_GROUPS_CLAIM: 'groups',
      OIDC_USE_USERINFO: false,
      OIDC_ID_TOKEN_ALG: 'RS256',
      SSO_REQUIRE_MAPPED_GROUP: true,
      OIDC_HTTP_TIMEOUT: 10,
    });
    expect(config.OIDC_ISSUER).toBeUndefined();
    expect(config.OIDC_API_AUDIENCE).toBeUndefined();
    expect(providerFromEnv(config)).toBeNull();
  });

  it.each(['https://example.eu.auth0.com/', 'http://127.0.0.1:9000', 'http://localhost:9000/realms/x', 'http://[::1]:9000'])(
    'accepts the issuer %s',
    (issuer) => {
      expect(loadConfig({ OIDC_ISSUER: issuer, ...CLIENT }).OIDC_ISSUER).toBe(issuer);
    },
  );

  it.each(['http://idp.example.com', 'http://10.0.0.5', 'ftp://idp.example.com', 'not a url', 'https://idp.example.com/?x=1'])(
    'refuses the issuer %s, naming the variable',
    (issuer) => {
      expect(refusal({ OIDC_ISSUER: issuer, ...CLIENT })).toMatch(/OIDC_ISSUER: expected the provider's https issuer URL/);
    },
  );

  it('requires the client ID and secret with an issuer', () => {
    expect(refusal({ OIDC_ISSUER: 'https://idp.example.com' })).toMatch(
      /OIDC_CLIENT_ID: required when OIDC_ISSUER is set; OIDC_CLIENT_SECRET: required/,
    );
  });

  it('refuses none and HMAC as the ID token algorithm', () => {
    expect(refusal({ OIDC_ID_TOKEN_ALG: 'none' })).toMatch(/OIDC_ID_TOKEN_ALG: expected one of RS256/);
    expect(refusal({ OIDC_ID_TOKEN_ALG: 'HS256' })).toMatch(/OIDC_ID_TOKEN_ALG/);
  });

  it('reads flags and refuses what is not one, naming the variable', () => {
    expect(loadConfig({ OIDC_USE_USERINFO: 'TRUE', SSO_REQUIRE_MAPPED_GROUP: 'no' })).toMatchObject({
      OIDC_USE_USERINFO: true,
      SSO_REQUIRE_MAPPED_GROUP: false,
    });
    expect(refusal({ SSO_REQUIRE_MAPPED_GROUP: 'maybe' })).toMatch(/SSO_REQUIRE_MAPPED_GROUP: expected true or false/);
  });

  it('refuses scopes without openid and a timeout out of range', () => {
    expect(refusal({ OIDC_SCOPES: 'profile email' })).toMatch(/OIDC_SCOPES: expected space-separated scopes including openid/);
    expect(refusal({ OIDC_HTTP_TIMEOUT: '0' })).toMatch(/OIDC_HTTP_TIMEOUT/);
  });

  it('never repeats the client secret in an error', () => {
    expect(
      refusal({ OIDC_ISSUER: 'https://idp.example.com', OIDC_CLIENT_ID: 'x', OIDC_CLIENT_SECRET: 'the-secret', OIDC_HTTP_TIMEOUT: 'x' }),
    ).not.toContain('the-secret');
  });

  it('builds the settings from the environment, the redirect URI from PUBLIC_URL', () => {
    const config = loadConfig({
      OIDC_ISSUER: 'https://idp.example.com',
      ...CLIENT,
      PUBLIC_URL: 'https://gatehouse.example.com/',
      OIDC_API_AUDIENCE: 'https://api',
    });
    expect(ssoSettings(config, providerFromEnv(config)!)).toMatchObject({
      issuer: 'https://idp.example.com',
      clientId: 'gatehouse',
      publicUrl: 'https://gatehouse.example.com',
      apiAudience: 'https://api',
    });
  });
});
