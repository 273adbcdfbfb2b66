import { loadConfig } from '../../src/config/env';
import { insecureDefaults, relaxedChecks } from '../../src/config/insecure-defaults';

describe('insecureDefaults', () => {
  it('names every insecure development default of a configuration with nothing set', () => {
    const found = insecureDefaults(loadConfig({}));
    expect(found).toEqual([
      expect.stringMatching(/embedded database.*DATABASE_URL/),
      expect.stringMatching(/PUBLIC_URL is http:\/\/localhost:4000: session cookies are not Secure/),
      expect.stringMatching(/introspection and the Apollo Sandbox.*NODE_ENV=production/),
      expect.stringMatching(/development identity provider.*OIDC_ISSUER/),
    ]);
  });

  it('relaxedChecks names the settings that relax a single sign-on check, and nothing by default', () => {
    expect(relaxedChecks(loadConfig({}))).toEqual([]);
    expect(relaxedChecks(loadConfig({ SSO_LINK_BY_EMAIL: 'true', OIDC_GROUPS_CLAIM_ALLOW_STRING: 'true' }))).toEqual([
      expect.stringMatching(/^SSO_LINK_BY_EMAIL is on/),
      expect.stringMatching(/^OIDC_GROUPS_CLAIM_ALLOW_STRING is on/),
    ]);
  });

  it('names nothing for a production configuration', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://gatehouse@db.internal:5432/gatehouse',
      PUBLIC_URL: 'https://gatehouse.example.com',
      OIDC_ISSUER: 'https://idp.example.com',
      OIDC_CLIENT_ID: 'gatehouse',
      OIDC_CLIENT_SECRET: 'a-long-client-secret',
    });
    expect(insecureDefaults(config)).toEqual([]);
  });
});
