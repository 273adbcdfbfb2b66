import { MyAccountDocument, PreviewDirectoryGroupMappingDocument } from '../generated/graphql';
import { LogEntry } from '../../src/audit/log-entry.entity';
import { ScimUser } from '../../src/scim/scim-user.entity';
import { Session } from '../../src/sessions/session.entity';
import { SsoIdentity } from '../../src/sso/sso-identity.entity';
import { MembershipSource, UserGroup } from '../../src/users/user-group.entity';
import { User } from '../../src/users/user.entity';
import { makeGroup, makeRule } from '../support/factories';
import { startSsoTestBed, type SsoTestBed } from '../sso/support/sso-test-bed';
import { provisioningToken, scimClient, type ScimRequest } from './support/scim-client';

/*
 * SCIM and single sign-on meet on the identity (issuer, sub): a person provisioned through SCIM
 * signs in as the same user, their SCIM groups count at the sign-in as the token's groups do, a
 * SCIM push re-maps their groups at once, and a deactivation refuses their very next request —
 * session cookie or provider access token — and their next sign-in. Against the real provider of
 * test/sso/support/test-idp.ts.
 */

const AUDIENCE = 'https://gatehouse.example/api';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

describe('SCIM users and single sign-on', () => {
  let bed: SsoTestBed;
  let scim: ScimRequest;
  let support: { name: string };
  beforeAll(async () => {
    bed = await startSsoTestBed({ env: { OIDC_API_AUDIENCE: AUDIENCE } });
    const em = bed.server.db.orm.em.fork();
    const group = await makeGroup(em, ['core.view_tweet']);
    await makeRule(em, group, 'B2E_APP_MANAGEMENT_SUPPORT');
    support = group;
    scim = scimClient(bed.publicUrl, (await provisioningToken(bed.server, bed.idp.issuer)).secret);
  });
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();
  const me = async (sessionToken: string | null) => bed.me(sessionToken);

  async function provision(sub: string, userName: string): Promise<string> {
    const response = await scim('POST', '/Users', {
      schemas: [USER_SCHEMA],
      userName,
      externalId: sub,
      name: { givenName: 'Carl', familyName: 'Sagan' },
      emails: [{ value: `${sub}@example.com`, primary: true }],
      active: true,
    });
    expect(response.status).toBe(201);
    return response.body.id;
  }
  async function directoryGroup(displayName: string, members: string[]): Promise<string> {
    const response = await scim('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName, members: members.map((value) => ({ value })) });
    expect(response.status).toBe(201);
    return response.body.id;
  }
  const patchGroup = (id: string, operations: unknown[]) => scim('PATCH', `/Groups/${id}`, { schemas: [PATCH_OP], Operations: operations });

  it('signs a provisioned person in as the provisioned user, with their SCIM groups counting as the groups claim', async () => {
    const scimId = await provision('carl', 'carl.sagan');
    await directoryGroup('B2E_APP_MANAGEMENT_SUPPORT', [scimId]);
    // The token carries no groups at all: with SSO_REQUIRE_MAPPED_GROUP on, only the SCIM group lets carl in.
    bed.idp.directory.set('carl', { given_name: 'Carl', family_name: 'Sagan' });
    const usersBefore = await em().count(User, {});
    const { sessionToken } = await bed.signIn('carl');
    expect(await em().count(User, {})).toBe(usersBefore);
    expect(await me(sessionToken)).toMatchObject({ user: { username: 'carl.sagan' }, permissions: ['core.view_tweet'] });
    const [entry] = await em().find(LogEntry, { appLabel: 'sso', model: 'login' }, { orderBy: { id: 'desc' }, limit: 1 });
    expect(entry.changeMessage).toEqual([
      expect.objectContaining({
        sso_login: expect.objectContaining({
          outcome: 'allowed',
          rulesMatched: [expect.objectContaining({ claim: 'groups', value: 'B2E_APP_MANAGEMENT_SUPPORT', group: support.name })],
        }),
      }),
    ]);
  });

  it('refuses the person who has no mapped group in the token nor in SCIM, as before', async () => {
    await provision('nogroups', 'no.groups');
    bed.idp.directory.set('nogroups', {});
    const { response } = await bed.signIn('nogroups');
    expect(response.headers.get('location')).toBe('/login?error=access_not_granted');
  });

  it('re-maps a signed-in person’s groups at once when SCIM removes them from a directory group, and restores them when it adds them back', async () => {
    const scimId = await provision('ann', 'ann.druyan');
    const groupId = await directoryGroup('B2E_APP_MANAGEMENT_SUPPORT_ANN', []);
    await makeRule(em(), await em().findOneOrFail('Group', { name: support.name }), 'B2E_APP_MANAGEMENT_SUPPORT_ANN');
    expect((await patchGroup(groupId, [{ op: 'add', path: 'members', value: [{ value: scimId }] }])).status).toBe(204);
    bed.idp.directory.set('ann', {});
    const { sessionToken } = await bed.signIn('ann');
    expect((await me(sessionToken))?.permissions).toEqual(['core.view_tweet']);
    expect((await patchGroup(groupId, [{ op: 'remove', path: `members[value eq "${scimId}"]` }])).status).toBe(204);
    expect((await me(sessionToken))?.permissions).toEqual([]);
    const user = await em().findOneOrFail(User, { username: 'ann.druyan' });
    expect(await em().count(UserGroup, { user, source: MembershipSource.SSO_RULE })).toBe(0);
    const [entry] = await em().find(
      LogEntry,
      { appLabel: 'sso', model: 'scim', objectId: String(user.id) },
      { orderBy: { id: 'desc' }, limit: 1 },
    );
    expect(entry.changeMessage).toEqual([
      expect.objectContaining({ scim_groups: expect.objectContaining({ groupsRemoved: [support.name] }) }),
    ]);
    expect((await patchGroup(groupId, [{ op: 'add', path: 'members', value: [{ value: scimId }] }])).status).toBe(204);
    expect((await me(sessionToken))?.permissions).toEqual(['core.view_tweet']);
  });

  it('follows a SCIM push for a provider access token used again, as for a session', async () => {
    const scimId = await provision('api', 'api.caller');
    const groupId = await directoryGroup('B2E_APP_MANAGEMENT_SUPPORT_API', [scimId]);
    await makeRule(em(), await em().findOneOrFail('Group', { name: support.name }), 'B2E_APP_MANAGEMENT_SUPPORT_API');
    const now = Math.floor(Date.now() / 1000);
    // No groups in the token: only the SCIM group maps.
    const bearer = await bed.idp.sign({ iss: bed.idp.issuer, aud: AUDIENCE, sub: 'api', iat: now, exp: now + 300 });
    const account = async () => (await bed.server.graphql(MyAccountDocument, {}, bearer)).data?.me ?? null;
    expect((await account())?.permissions).toEqual(['core.view_tweet']);
    bed.server.resetQueries();
    expect((await account())?.permissions).toEqual(['core.view_tweet']);
    // The remembered outcome, the SCIM groups and the permissions: one statement.
    expect(bed.server.queries).toHaveLength(1);
    expect((await patchGroup(groupId, [{ op: 'remove', path: `members[value eq "${scimId}"]` }])).status).toBe(204);
    expect(await account()).toBeNull();
    expect((await patchGroup(groupId, [{ op: 'add', path: 'members', value: [{ value: scimId }] }])).status).toBe(204);
    expect((await account())?.permissions).toEqual(['core.view_tweet']);
  });

  it('keeps, at a SCIM push, the groups of the last token that SCIM does not push', async () => {
    const scimId = await provision('tok', 'token.groups');
    const other = await makeGroup(em(), ['core.view_language']);
    await makeRule(em(), other, 'TOKEN_ONLY_GROUP');
    bed.idp.directory.set('tok', { groups: ['TOKEN_ONLY_GROUP'] });
    const { sessionToken } = await bed.signIn('tok');
    expect((await me(sessionToken))?.permissions).toEqual(['core.view_language']);
    await directoryGroup('B2E_APP_MANAGEMENT_SUPPORT_TOK', [scimId]);
    await makeRule(em(), await em().findOneOrFail('Group', { name: support.name }), 'B2E_APP_MANAGEMENT_SUPPORT_TOK');
    const groupId = (await scim('GET', '/Groups?filter=displayName eq "B2E_APP_MANAGEMENT_SUPPORT_TOK"')).body.Resources[0].id;
    expect((await patchGroup(groupId, [{ op: 'remove', path: 'members' }])).status).toBe(204);
    expect((await patchGroup(groupId, [{ op: 'add', path: 'members', value: [{ value: scimId }] }])).status).toBe(204);
    expect((await me(sessionToken))?.permissions).toEqual(['core.view_language', 'core.view_tweet']);
  });

  it('refuses a signed-in person’s very next request once SCIM deactivates them, then their sign-in; reactivation lets them sign in again', async () => {
    const scimId = await provision('leaver', 'the.leaver');
    await directoryGroup('B2E_APP_MANAGEMENT_SUPPORT_LEAVER', [scimId]);
    await makeRule(em(), await em().findOneOrFail('Group', { name: support.name }), 'B2E_APP_MANAGEMENT_SUPPORT_LEAVER');
    bed.idp.directory.set('leaver', {});
    const { sessionToken } = await bed.signIn('leaver');
    const now = Math.floor(Date.now() / 1000);
    const bearer = await bed.idp.sign({ iss: bed.idp.issuer, aud: AUDIENCE, sub: 'leaver', iat: now, exp: now + 300 });
    expect((await me(sessionToken))?.user.username).toBe('the.leaver');
    expect((await bed.server.graphql(MyAccountDocument, {}, bearer)).data?.me?.user.username).toBe('the.leaver');

    const deactivated = await scim('PATCH', `/Users/${scimId}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    expect(deactivated.body.active).toBe(false);
    // The first request after the answer is refused: the sessions ended in the PATCH's transaction.
    expect(await me(sessionToken)).toBeNull();
    expect((await bed.server.graphql(MyAccountDocument, {}, bearer)).data?.me).toBeNull();
    expect(await em().count(Session, { user: { username: 'the.leaver' } })).toBe(0);
    const again = await bed.signIn('leaver');
    expect(again.response.headers.get('location')).toBe('/login?error=account_disabled');

    await scim('PATCH', `/Users/${scimId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: true }] });
    const back = await bed.signIn('leaver');
    expect((await me(back.sessionToken))?.user.username).toBe('the.leaver');
  });

  it('ends the sessions of a user SCIM deletes, and the person’s next sign-in creates a new user', async () => {
    const scimId = await provision('gone', 'gone.person');
    await directoryGroup('B2E_APP_MANAGEMENT_SUPPORT_GONE', [scimId]);
    await makeRule(em(), await em().findOneOrFail('Group', { name: support.name }), 'B2E_APP_MANAGEMENT_SUPPORT_GONE');
    bed.idp.directory.set('gone', { groups: ['B2E_APP_MANAGEMENT_SUPPORT'] });
    const { sessionToken } = await bed.signIn('gone');
    expect((await me(sessionToken))?.user.username).toBe('gone.person');
    expect((await scim('DELETE', `/Users/${scimId}`)).status).toBe(204);
    expect(await me(sessionToken)).toBeNull();
    const { sessionToken: fresh } = await bed.signIn('gone');
    expect((await me(fresh))?.user.username).toBe('gone');
  });

  it('takes over the user of a person who signed in before being provisioned, and never a superuser', async () => {
    bed.idp.directory.set('early', { groups: ['B2E_APP_MANAGEMENT_SUPPORT'] });
    const { sessionToken } = await bed.signIn('early');
    const user = await em().findOneOrFail(User, { username: 'early' });
    const response = await scim('POST', '/Users', { schemas: [USER_SCHEMA], userName: 'early.bird', externalId: 'early', active: true });
    expect(response.status).toBe(201);
    expect(await em().findOneOrFail(ScimUser, { id: response.body.id }, { populate: ['user'] })).toMatchObject({ user: { id: user.id } });
    expect((await me(sessionToken))?.user.username).toBe('early.bird');

    bed.idp.directory.set('root', { groups: ['B2E_APP_MANAGEMENT_SUPPORT'] });
    await bed.signIn('root');
    await em().nativeUpdate(User, { username: 'root' }, { isSuperuser: true });
    const before = await bed.server.db.snapshot();
    const refused = await scim('POST', '/Users', { schemas: [USER_SCHEMA], userName: 'root.account', externalId: 'root' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ scimType: 'uniqueness', detail: expect.stringMatching(/superuser/) });
    expect(await bed.server.db.snapshot()).toEqual(before);
    expect(await em().count(SsoIdentity, { subject: 'root', user: { username: 'root' } })).toBe(1);
  });

  it('previews a mapping with both sources, telling each match where its value came from', async () => {
    const { token } = await bed.server.signInWith(['sso.view_groupmappingrule']);
    const result = await bed.server.graphql(
      PreviewDirectoryGroupMappingDocument,
      {
        claims: { sub: 'x', groups: ['B2E_APP_MANAGEMENT_SUPPORT'] },
        scimGroups: ['B2E_APP_MANAGEMENT_SUPPORT', 'B2E_APP_MANAGEMENT_SUPPORT_ANN'],
      },
      token,
    );
    const matches = result.data?.previewGroupMapping.matches.map((m) => [m.value, m.sources]);
    expect(matches).toEqual([
      ['B2E_APP_MANAGEMENT_SUPPORT', ['TOKEN', 'SCIM']],
      ['B2E_APP_MANAGEMENT_SUPPORT_ANN', ['SCIM']],
    ]);
    const scimOnly = await bed.server.graphql(
      PreviewDirectoryGroupMappingDocument,
      { claims: { sub: 'x' }, scimGroups: ['B2E_APP_MANAGEMENT_SUPPORT'] },
      token,
    );
    expect(scimOnly.data?.previewGroupMapping).toMatchObject({ loginAllowed: true, groups: [{ name: support.name }] });
    const tokenOnly = await bed.server.graphql(PreviewDirectoryGroupMappingDocument, { claims: { sub: 'x' } }, token);
    expect(tokenOnly.data?.previewGroupMapping).toMatchObject({ loginAllowed: false, refusal: 'groups_claim_missing' });
  });
});
