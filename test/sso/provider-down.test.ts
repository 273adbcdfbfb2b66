import { LoginTransaction } from '../../src/sso/login-transaction.entity';
import { MeDocument } from '../generated/graphql';
import { makeGroup, makeRule, makeUser } from '../support/factories';
import { startSsoTestBed, type SsoTestBed } from './support/sso-test-bed';

describe('an identity provider that is down when Gatehouse starts', () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    // The provider's port refuses connections until the test brings it up.
    bed = await startSsoTestBed({ env: { OIDC_HTTP_TIMEOUT: '2' }, beforeGatehouse: (idp) => idp.takeDown(), waitForDiscovery: false });
  });
  afterAll(() => bed?.stop());

  it('starts anyway; SSO answers "identity provider unavailable" without recording an attempt; password sign-in works; SSO works once the provider is up', async () => {
    const { server, publicUrl } = bed;
    const response = await fetch(`${publicUrl}/oidc/authenticate/?next=/graphql`, { redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?error=idp_unavailable&next=%2Fgraphql');
    const page = await (await fetch(`${publicUrl}${response.headers.get('location')}`)).text();
    expect(page).toContain('The identity provider is unavailable');
    expect(await server.db.orm.em.fork().count(LoginTransaction, {})).toBe(0);

    const local = await makeUser(server.db.orm.em.fork(), { username: 'local-dev' });
    const token = await server.signIn(local);
    expect((await server.graphql(MeDocument, {}, token)).data).toEqual({ me: { user: { username: 'local-dev' }, permissions: [] } });

    // The provider comes up on the configured address; discovery is retried in the background.
    await bed.idp.bringUp();
    await makeRule(server.db.orm.em.fork(), await makeGroup(server.db.orm.em.fork(), ['core.view_tweet']), 'LATE');
    bed.idp.directory.set('late', { groups: ['LATE'] });
    await bed.waitUntilReady(20_000);
    const { response: callback, sessionToken } = await bed.signIn('late');
    expect(callback.headers.get('location')).toBe('/graphql');
    expect((await bed.me(sessionToken))?.permissions).toEqual(['core.view_tweet']);
  });
});
