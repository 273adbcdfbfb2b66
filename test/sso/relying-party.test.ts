import { loadConfig } from '../../src/config/env';
import { createLogger } from '../../src/config/logger';
import { RelyingParty } from '../../src/sso/relying-party';
import { providerFromEnv, ssoSettings } from '../../src/sso/settings';
import { makeGroup, makeRule } from '../support/factories';
import { startSsoTestBed, type SsoTestBed } from './support/sso-test-bed';

describe('RelyingParty.endSessionUrl without an end_session_endpoint', () => {
  const party = (issuer: string) => {
    const config = loadConfig({
      OIDC_ISSUER: issuer,
      OIDC_CLIENT_ID: 'cid',
      OIDC_CLIENT_SECRET: 'secret',
      PUBLIC_URL: 'https://gatehouse.example.com',
    });
    return new RelyingParty(ssoSettings(config, providerFromEnv(config)!), createLogger('silent'));
  };

  it('uses Auth0’s /v2/logout with returnTo and client_id for an auth0.com tenant', () => {
    const url = new URL(party('https://acme.eu.auth0.com/').endSessionUrl('id.token.here')!);
    expect(`${url.origin}${url.pathname}`).toBe('https://acme.eu.auth0.com/v2/logout');
    expect(Object.fromEntries(url.searchParams)).toEqual({ returnTo: 'https://gatehouse.example.com/login', client_id: 'cid' });
  });

  it('offers nothing for another provider (the caller goes to /login)', () => {
    expect(party('https://idp.example.com/').endSessionUrl('id.token.here')).toBeNull();
    expect(party('https://notauth0.com.evil.example/').endSessionUrl(null)).toBeNull();
  });
});

describe('single sign-on with userinfo and a namespaced groups claim (the original project’s Auth0 action)', () => {
  const CLAIM = 'https://www.example.com/ad/groups';
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed({ groupsClaim: CLAIM, env: { OIDC_USE_USERINFO: 'true' } });
    await makeRule(
      bed.server.db.orm.em.fork(),
      await makeGroup(bed.server.db.orm.em.fork(), ['core.view_language']),
      'B2E_APP_MANAGEMENT_VIEWER',
    );
  });
  afterAll(() => bed?.stop());

  it('reads the groups from the namespaced claim and signs in, userinfo’s sub matching', async () => {
    bed.idp.directory.set('nina', { [CLAIM]: ['B2E_APP_MANAGEMENT_VIEWER'], given_name: 'Nina' });
    const { response, sessionToken } = await bed.signIn('nina');
    expect(response.headers.get('location')).toBe('/graphql');
    expect(await bed.me(sessionToken)).toMatchObject({
      user: { username: 'nina', firstName: 'Nina' },
      permissions: ['core.view_language'],
    });
  });
});
