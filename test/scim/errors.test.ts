import { RevokeProvisioningTokenDocument } from '../generated/graphql';
import { User } from '../../src/users/user.entity';
import { startTestServer, type TestServer } from '../support/server';
import { provisioningToken, scimClient, type ScimRequest, type ScimResponse } from './support/scim-client';

/*
 * Every way a SCIM client can be wrong, and what it gets: a SCIM error body (RFC 7644 §3.12:
 * the Error schema, `status` as a string, `scimType` where the RFC defines one, a `detail` naming
 * the problem) as application/scim+json, the right status — never a 500 — and nothing written.
 */

const ISSUER = 'https://example.okta.com/oauth2/default';
const OTHER_ISSUER = 'https://other.example.com/';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';

const userBody = (userName: string, externalId: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER_SCHEMA],
  userName,
  externalId,
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  emails: [{ value: `${userName.replace(/@.*/, '')}@example.com`, primary: true }],
  active: true,
  ...extra,
});

function expectScimError(response: ScimResponse, status: number, scimType: string | null, detail: RegExp): void {
  expect(response.headers.get('content-type')).toMatch(/^application\/scim\+json/);
  expect(response.body).toEqual({
    schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
    status: String(status),
    ...(scimType ? { scimType } : {}),
    detail: expect.stringMatching(detail),
  });
  expect(response.status).toBe(status);
}

describe('SCIM refusals', () => {
  let server: TestServer;
  let scim: ScimRequest;
  let other: ScimRequest;
  let userId: string;
  let groupId: string;
  let otherUserId: string;
  beforeAll(async () => {
    server = await startTestServer();
    scim = scimClient(server.url, (await provisioningToken(server, ISSUER)).secret);
    other = scimClient(server.url, (await provisioningToken(server, OTHER_ISSUER)).secret);
    userId = (await scim('POST', '/Users', userBody('ada@example.com', 'sub-ada'))).body.id;
    groupId = (await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Engineers' })).body
      .id;
    otherUserId = (await other('POST', '/Users', userBody('grace@example.com', 'sub-grace'))).body.id;
  });
  afterAll(() => server?.stop());

  /** Runs `request`, expects the error, and that no table changed. */
  async function refused(request: () => Promise<ScimResponse>, status: number, scimType: string | null, detail: RegExp): Promise<void> {
    const before = await server.db.snapshot();
    expectScimError(await request(), status, scimType, detail);
    expect(await server.db.snapshot()).toEqual(before);
  }

  describe('authentication', () => {
    it('refuses a request without a token with 401 and WWW-Authenticate', async () => {
      const response = await scim('GET', '/Users', undefined, { token: null });
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="Gatehouse SCIM"');
      await refused(() => scim('GET', '/Users', undefined, { token: null }), 401, null, /provisioning token is required/);
    });

    it('refuses an unknown token, a session-shaped token and a non-bearer scheme with 401', async () => {
      await refused(() => scim('GET', '/Users', undefined, { token: 'gh_scim_notatoken' }), 401, null, /unknown or revoked/);
      await refused(
        () => scim('POST', '/Users', userBody('eve@example.com', 'eve'), { token: 'x'.repeat(43) }),
        401,
        null,
        /unknown or revoked/,
      );
      const basic = await fetch(`${server.url}/scim/v2/Users`, { headers: { authorization: 'Basic Zm9vOmJhcg==' } });
      expect(basic.status).toBe(401);
    });

    it('refuses a revoked token at once, and the token still works until then', async () => {
      const { secret, id } = await provisioningToken(server, ISSUER, 'to revoke');
      const client = scimClient(server.url, secret);
      expect((await client('GET', '/Users')).status).toBe(200);
      const { token } = await server.signInAsSuperuser();
      const revoked = await server.graphql(RevokeProvisioningTokenDocument, { id }, token);
      expect(revoked.data?.revokeProvisioningToken.revokedAt).toEqual(expect.any(String));
      await refused(() => client('GET', '/Users'), 401, null, /unknown or revoked/);
      await refused(
        () => client('PATCH', `/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] }),
        401,
        null,
        /revoked/,
      );
    });
  });

  describe('another issuer’s resources', () => {
    it('answers 404 for another issuer’s user, on every method, and changes nothing', async () => {
      await refused(() => scim('GET', `/Users/${otherUserId}`), 404, null, /not found/);
      await refused(
        () =>
          scim('PATCH', `/Users/${otherUserId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] }),
        404,
        null,
        /not found/,
      );
      await refused(
        () => scim('PUT', `/Users/${otherUserId}`, userBody('grace@example.com', 'sub-grace', { active: false })),
        404,
        null,
        /not found/,
      );
      await refused(() => scim('DELETE', `/Users/${otherUserId}`), 404, null, /not found/);
      expect((await scim('GET', '/Users?filter=userName eq "grace@example.com"')).body.totalResults).toBe(0);
      expect((await other('GET', `/Users/${otherUserId}`)).body.active).toBe(true);
    });

    it('answers 404 for another issuer’s group, and refuses another issuer’s user as a member', async () => {
      await refused(() => other('GET', `/Groups/${groupId}`), 404, null, /not found/);
      await refused(() => other('DELETE', `/Groups/${groupId}`), 404, null, /not found/);
      await refused(
        () =>
          scim('PATCH', `/Groups/${groupId}`, {
            schemas: [PATCH_OP],
            Operations: [{ op: 'add', path: 'members', value: [{ value: otherUserId }] }],
          }),
        400,
        'invalidValue',
        new RegExp(`no user of this issuer has the id ${otherUserId}`),
      );
    });

    it('answers 404 for an id that is not a SCIM id', async () => {
      await refused(() => scim('GET', '/Users/42'), 404, null, /User 42 not found/);
      await refused(() => scim('GET', '/Groups/not-a-uuid'), 404, null, /Group not-a-uuid not found/);
    });
  });

  describe('bodies', () => {
    it('refuses malformed JSON with 400 invalidSyntax', async () => {
      await refused(() => scim('POST', '/Users', undefined, { rawBody: '{"schemas": [' }), 400, 'invalidSyntax', /not valid JSON/);
      await refused(
        () => scim('PATCH', `/Users/${userId}`, undefined, { rawBody: '{"Operations":' }),
        400,
        'invalidSyntax',
        /not valid JSON/,
      );
    });

    it('refuses a body that is not JSON with 415', async () => {
      await refused(
        () => scim('POST', '/Users', undefined, { rawBody: 'userName=eve', contentType: 'application/x-www-form-urlencoded' }),
        415,
        null,
        /application\/scim\+json/,
      );
    });

    it('accepts application/json as well as application/scim+json', async () => {
      const response = await scim('POST', '/Users', userBody('json@example.com', 'sub-json'), { contentType: 'application/json' });
      expect(response.status).toBe(201);
    });

    it('refuses a resource without its core schema, or that is not an object, with 400', async () => {
      await refused(
        () => scim('POST', '/Users', { userName: 'eve', externalId: 'eve' }),
        400,
        'invalidValue',
        /schemas must contain urn:ietf:params:scim:schemas:core:2.0:User/,
      );
      await refused(() => scim('POST', '/Users', ['eve']), 400, 'invalidSyntax', /JSON object/);
    });

    it('refuses a user without externalId, with a bad userName or e-mail, or a non-boolean active with 400 invalidValue', async () => {
      await refused(
        () => scim('POST', '/Users', { schemas: [USER_SCHEMA], userName: 'eve@example.com' }),
        400,
        'invalidValue',
        /externalId is required/,
      );
      await refused(
        () => scim('POST', '/Users', userBody('eve has spaces', 'eve')),
        400,
        'invalidValue',
        /userName: must be 1-150 characters/,
      );
      await refused(
        () => scim('POST', '/Users', userBody('eve', 'eve', { emails: [{ value: 'not an address' }] })),
        400,
        'invalidValue',
        /emails.value/,
      );
      await refused(
        () => scim('POST', '/Users', userBody('eve', 'eve', { active: 'maybe' })),
        400,
        'invalidValue',
        /active must be true or false/,
      );
      await refused(
        () => scim('POST', '/Users', userBody('eve', 'eve', { name: { givenName: 'x'.repeat(151) } })),
        400,
        'invalidValue',
        /name.givenName must be at most 150/,
      );
    });

    it('refuses a duplicate userName (case-insensitively), externalId or group displayName with 409 uniqueness', async () => {
      await refused(
        () => scim('POST', '/Users', userBody('ada@example.com', 'another-sub')),
        409,
        'uniqueness',
        /userName ada@example.com is already taken/,
      );
      await refused(() => scim('POST', '/Users', userBody('ADA@example.com', 'another-sub')), 409, 'uniqueness', /already taken/);
      await refused(
        () => scim('POST', '/Users', userBody('ada2@example.com', 'sub-ada')),
        409,
        'uniqueness',
        /externalId sub-ada is already provisioned/,
      );
      await refused(
        () => scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'engineers' }),
        409,
        'uniqueness',
        /a group named engineers already exists/,
      );
      const taken = await scim('POST', '/Users', userBody('taken@example.com', 'sub-taken'));
      await refused(
        () =>
          scim('PATCH', `/Users/${taken.body.id}`, {
            schemas: [PATCH_OP],
            Operations: [{ op: 'replace', path: 'userName', value: 'ada@example.com' }],
          }),
        409,
        'uniqueness',
        /already taken/,
      );
    });
  });

  describe('PATCH', () => {
    const patch = (operations: unknown[], id = userId) => scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: operations });

    it('refuses an attribute path Gatehouse does not keep with 400 invalidPath', async () => {
      await refused(() => patch([{ op: 'replace', path: 'title', value: 'Engineer' }]), 400, 'invalidPath', /User has no attribute title/);
      await refused(
        () => patch([{ op: 'replace', path: 'name.middleName', value: 'B' }]),
        400,
        'invalidPath',
        /name has no sub-attribute middleName/,
      );
      await refused(
        () => patch([{ op: 'replace', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', value: 'R&D' }]),
        400,
        'invalidPath',
        /keeps no attribute of that schema/,
      );
      await refused(() => patch([{ op: 'replace', path: 'active[value eq true]', value: false }]), 400, 'invalidPath', /single-valued/);
      await refused(
        () => patch([{ op: 'replace', path: 'emails[type eq "work"', value: 'x' }]),
        400,
        'invalidPath',
        /not a valid attribute path/,
      );
    });

    it('refuses a read-only or immutable attribute with 400 mutability', async () => {
      await refused(() => patch([{ op: 'replace', path: 'groups', value: [] }]), 400, 'mutability', /groups is read-only/);
      await refused(() => patch([{ op: 'replace', path: 'id', value: 'x' }]), 400, 'mutability', /id is read-only/);
      await refused(
        () => patch([{ op: 'replace', path: 'externalId', value: 'someone-else' }]),
        400,
        'mutability',
        /externalId cannot change/,
      );
    });

    it('refuses a bad value filter in a path with 400 invalidFilter', async () => {
      await refused(
        () => patch([{ op: 'replace', path: 'emails[type zz "work"].value', value: 'x@example.com' }]),
        400,
        'invalidFilter',
        /does not parse/,
      );
      await refused(
        () => patch([{ op: 'replace', path: 'emails[color eq "red"].value', value: 'x@example.com' }]),
        400,
        'invalidFilter',
        /no sub-attribute color/,
      );
    });

    it('refuses a message that is not a PatchOp, an unknown op, a remove without path with 400', async () => {
      await refused(
        () => scim('PATCH', `/Users/${userId}`, { Operations: [{ op: 'replace', value: { active: false } }] }),
        400,
        'invalidSyntax',
        /schemas must contain/,
      );
      await refused(
        () => scim('PATCH', `/Users/${userId}`, { schemas: [PATCH_OP], Operations: [] }),
        400,
        'invalidSyntax',
        /non-empty array/,
      );
      await refused(
        () => patch([{ op: 'move', path: 'active', value: false }]),
        400,
        'invalidSyntax',
        /Operations\[0\].op must be add, remove or replace/,
      );
      await refused(() => patch([{ op: 'remove' }]), 400, 'noTarget', /remove needs a path/);
      await refused(() => patch([{ op: 'add', path: 'active' }]), 400, 'invalidSyntax', /add needs a value/);
      await refused(() => patch([{ op: 'replace', value: 'nope' }]), 400, 'invalidSyntax', /object of attributes/);
      await refused(
        () => patch([{ op: 'replace', path: 'active', value: 'perhaps' }]),
        400,
        'invalidValue',
        /active must be true or false/,
      );
    });

    it('applies every operation or none: a bad operation after a good one writes nothing', async () => {
      await refused(
        () =>
          patch([
            { op: 'replace', path: 'name.givenName', value: 'Changed' },
            { op: 'replace', path: 'nickName', value: 'x' },
          ]),
        400,
        'invalidPath',
        /nickName/,
      );
      expect((await scim('GET', `/Users/${userId}`)).body.name.givenName).toBe('Ada');
    });

    it('ignores, in a path-less value, what Gatehouse does not keep (Okta’s password) and read-only attributes', async () => {
      const response = await patch([{ op: 'replace', value: { password: 'secret!', id: 'x', 'name.givenName': 'Augusta' } }]);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ id: userId, name: { givenName: 'Augusta' } });
      const user = await server.db.orm.em.fork().findOneOrFail(User, { username: 'ada@example.com' }, { populate: ['password'] });
      expect(user.password).toBeNull();
    });

    it('accepts Entra ID’s older string booleans for active', async () => {
      const created = await scim('POST', '/Users', userBody('strings@example.com', 'sub-strings'));
      expect((await patch([{ op: 'Replace', path: 'active', value: 'False' }], created.body.id)).body.active).toBe(false);
      expect((await patch([{ op: 'Replace', path: 'active', value: 'True' }], created.body.id)).body.active).toBe(true);
    });
  });

  describe('filters and pages', () => {
    it('refuses filters other than userName eq / externalId eq (users) and displayName eq / externalId eq (groups) with 400 invalidFilter', async () => {
      await refused(() => scim('GET', '/Users?filter=userName co "ada"'), 400, 'invalidFilter', /not the operator co/);
      await refused(() => scim('GET', '/Users?filter=title eq "x"'), 400, 'invalidFilter', /not a filter on title/);
      await refused(() => scim('GET', '/Users?filter=userName eq "a" and active eq true'), 400, 'invalidFilter', /not the operator and/);
      await refused(() => scim('GET', '/Users?filter=userName eq 12'), 400, 'invalidFilter', /takes a string/);
      await refused(() => scim('GET', '/Users?filter=(('), 400, 'invalidFilter', /does not parse/);
      await refused(() => scim('GET', '/Groups?filter=userName eq "ada"'), 400, 'invalidFilter', /not a filter on userName/);
      await refused(() => scim('GET', '/Users?startIndex=first'), 400, 'invalidValue', /startIndex must be an integer/);
    });

    it('finds by userName (case-insensitively, with the schema URI or not), externalId and displayName', async () => {
      expect((await scim('GET', '/Users?filter=userName eq "ADA@example.com"')).body.Resources.map((r: { id: string }) => r.id)).toEqual([
        userId,
      ]);
      expect(
        (await scim('GET', `/Users?filter=${encodeURIComponent(`${USER_SCHEMA}:userName eq "ada@example.com"`)}`)).body.totalResults,
      ).toBe(1);
      expect((await scim('GET', '/Users?filter=externalId eq "sub-ada"')).body.Resources[0].id).toBe(userId);
      expect((await scim('GET', '/Users?filter=externalId eq "SUB-ADA"')).body.totalResults).toBe(0);
      expect((await scim('GET', '/Groups?filter=displayName eq "engineers"')).body.Resources[0].id).toBe(groupId);
    });

    it('pages with startIndex and count (RFC 7644 §3.4.2.4)', async () => {
      const client = scimClient(server.url, (await provisioningToken(server, 'https://paging.example.com/')).secret);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await client('POST', '/Users', userBody(`page${i}@example.com`, `page-${i}`))).body.id);
      const page = await client('GET', '/Users?startIndex=3&count=2');
      expect(page.body).toMatchObject({ totalResults: 5, startIndex: 3, itemsPerPage: 2 });
      expect(page.body.Resources.map((r: { id: string }) => r.id)).toEqual(ids.slice(2, 4));
      expect((await client('GET', '/Users?startIndex=5&count=10')).body).toMatchObject({ totalResults: 5, itemsPerPage: 1 });
      expect((await client('GET', '/Users?count=0')).body).toMatchObject({ totalResults: 5, itemsPerPage: 0, Resources: [] });
      expect((await client('GET', '/Users?startIndex=0&count=1')).body).toMatchObject({ startIndex: 1, itemsPerPage: 1 });
      expect((await client('GET', '/Users?attributes=userName')).body.Resources[0]).toEqual({
        schemas: [USER_SCHEMA],
        id: ids[0],
        userName: 'page0@example.com',
        meta: expect.objectContaining({ resourceType: 'User' }),
      });
    });
  });

  describe('the last superuser', () => {
    it('is never deactivated or deleted through SCIM (409), and stays active', async () => {
      const solo = await startTestServer();
      try {
        const client = scimClient(solo.url, (await provisioningToken(solo, ISSUER)).secret);
        const created = await client('POST', '/Users', userBody('boss@example.com', 'sub-boss'));
        const em = solo.db.orm.em.fork();
        // The superuser that created the token is made inactive, so that the SCIM user, promoted, is the last one.
        await em.nativeUpdate(User, { isSuperuser: true }, { isActive: false });
        await em.nativeUpdate(User, { username: 'boss@example.com' }, { isSuperuser: true });
        const before = await solo.db.snapshot();
        const deactivate = await client('PATCH', `/Users/${created.body.id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'replace', value: { active: false } }],
        });
        expectScimError(deactivate, 409, null, /last active superuser/);
        expectScimError(await client('DELETE', `/Users/${created.body.id}`), 409, null, /last active superuser/);
        expect(await solo.db.snapshot()).toEqual(before);
      } finally {
        await solo.stop();
      }
    });
  });

  describe('discovery endpoints', () => {
    it('answers ServiceProviderConfig, ResourceTypes and Schemas', async () => {
      const config = await scim('GET', '/ServiceProviderConfig');
      expect(config.body).toMatchObject({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
        patch: { supported: true },
        bulk: { supported: false },
        filter: { supported: true, maxResults: 200 },
        etag: { supported: false },
        authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken' })],
      });
      const types = await scim('GET', '/ResourceTypes');
      expect(types.body.Resources.map((r: { id: string; endpoint: string }) => [r.id, r.endpoint])).toEqual([
        ['User', '/Users'],
        ['Group', '/Groups'],
      ]);
      expect((await scim('GET', '/ResourceTypes/Group')).body.schema).toBe('urn:ietf:params:scim:schemas:core:2.0:Group');
      const schemas = await scim('GET', '/Schemas');
      const user = schemas.body.Resources.find((s: { id: string }) => s.id === USER_SCHEMA);
      expect(user.attributes.map((a: { name: string }) => a.name)).toEqual([
        'id',
        'externalId',
        'userName',
        'name',
        'displayName',
        'emails',
        'active',
        'groups',
      ]);
      expect((await scim('GET', `/Schemas/${USER_SCHEMA}`)).body.id).toBe(USER_SCHEMA);
      await refused(() => scim('GET', '/Schemas/urn:nothing'), 404, null, /no schema/);
    });

    it('answers an unknown endpoint with a SCIM 404', async () => {
      await refused(() => scim('POST', '/Bulk', { schemas: [] }), 404, null, /no SCIM endpoint POST \/scim\/v2\/Bulk/);
      await refused(() => scim('GET', '/Me'), 404, null, /no SCIM endpoint/);
    });
  });
});
