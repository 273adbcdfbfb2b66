import { createHash } from 'node:crypto';
import { CreateProvisioningTokenDocument, ProvisioningTokensDocument, RevokeProvisioningTokenDocument } from '../generated/graphql';
import { LogEntry } from '../../src/audit/log-entry.entity';
import { ProvisioningToken } from '../../src/scim/provisioning-token.entity';
import { startTestServer, type TestServer } from '../support/server';
import { scimClient } from './support/scim-client';
import { keyOf } from '../support/global-ids';

/*
 * Provisioning tokens through GraphQL: created with their secret shown once (only its SHA-256
 * digest stored), bound to an issuer, listed without secrets, revoked at once, each write in the
 * admin log. Refusals without sso.*_provisioningtoken come from the denial matrix.
 */
describe('provisioning tokens', () => {
  let server: TestServer;
  let admin: string;
  beforeAll(async () => {
    server = await startTestServer();
    admin = (await server.signInAsSuperuser()).token;
  });
  afterAll(() => server?.stop());
  const em = () => server.db.orm.em.fork();

  describe('Mutation.createProvisioningToken', () => {
    it('returns the secret once, stores only its digest, binds the issuer and logs the creation', async () => {
      const result = await server.graphql(
        CreateProvisioningTokenDocument,
        { input: { description: 'Okta production', issuer: 'https://example.okta.com/oauth2/default' } },
        admin,
      );
      const created = result.data!.createProvisioningToken;
      expect(created).toMatchObject({
        secret: expect.stringMatching(/^gh_scim_[A-Za-z0-9_-]{43}$/),
        scimBaseUrl: expect.stringMatching(/\/scim\/v2$/),
        provisioningToken: {
          description: 'Okta production',
          issuer: 'https://example.okta.com/oauth2/default',
          revokedAt: null,
          lastUsedAt: null,
        },
      });
      const stored = await em().findOneOrFail(ProvisioningToken, { id: Number(keyOf(created.provisioningToken.id)) });
      expect(stored.tokenHash).toBe(createHash('sha256').update(created.secret).digest('hex'));
      const rows = await em().execute(`select * from sso_provisioningtoken`);
      expect(JSON.stringify(rows)).not.toContain(created.secret);
      const list = await server.graphql(ProvisioningTokensDocument, { first: 10 }, admin);
      expect(JSON.stringify(list.body)).not.toContain(created.secret);
      expect(list.data?.provisioningTokens.edges.map((e) => e.node.id)).toContain(created.provisioningToken.id);
      expect(
        await em().count(LogEntry, {
          appLabel: 'sso',
          model: 'provisioningtoken',
          objectId: keyOf(created.provisioningToken.id),
          actionFlag: 1,
        }),
      ).toBe(1);
    });

    it.each([
      ['an empty description', { description: '  ', issuer: 'https://idp.example.com/' }, 'input.description'],
      ['an issuer that is not a URL', { description: 'x', issuer: 'okta' }, 'input.issuer'],
      ['a plain-http issuer off loopback', { description: 'x', issuer: 'http://idp.example.com/' }, 'input.issuer'],
      ['no issuer while single sign-on is off', { description: 'x' }, 'input.issuer'],
    ])('refuses %s with BAD_USER_INPUT naming the field, and writes nothing', async (_, input, field) => {
      const before = await server.db.snapshot();
      const result = await server.graphql(CreateProvisioningTokenDocument, { input }, admin);
      expect(result.errors?.map((e) => e.extensions)).toEqual([expect.objectContaining({ code: 'BAD_USER_INPUT', field })]);
      expect(await server.db.snapshot()).toEqual(before);
    });
  });

  describe('Mutation.revokeProvisioningToken', () => {
    it('revokes at once and logs it; revoking again changes nothing; an unknown id is NOT_FOUND', async () => {
      const created = (
        await server.graphql(
          CreateProvisioningTokenDocument,
          { input: { description: 'Entra', issuer: 'https://login.example.com/' } },
          admin,
        )
      ).data!.createProvisioningToken;
      const scim = scimClient(server.url, created.secret);
      expect((await scim('GET', '/Users')).status).toBe(200);
      const revoked = await server.graphql(RevokeProvisioningTokenDocument, { id: created.provisioningToken.id }, admin);
      expect(revoked.data?.revokeProvisioningToken.revokedAt).toEqual(expect.any(String));
      expect((await scim('GET', '/Users')).status).toBe(401);
      const before = await server.db.snapshot();
      const again = await server.graphql(RevokeProvisioningTokenDocument, { id: created.provisioningToken.id }, admin);
      expect(again.data?.revokeProvisioningToken.revokedAt).toBe(revoked.data?.revokeProvisioningToken.revokedAt);
      expect(await server.db.snapshot()).toEqual(before);
      const unknown = await server.graphql(RevokeProvisioningTokenDocument, { id: '999999' }, admin);
      expect(unknown.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    });
  });
});
