import { MyAccountDocument } from '../generated/graphql';
import { Group } from '../../src/groups/group.entity';
import { ScimUser } from '../../src/scim/scim-user.entity';
import { AuthMethod, Session } from '../../src/sessions/session.entity';
import { createSession } from '../../src/sessions/sessions.service';
import { SsoIdentity } from '../../src/sso/sso-identity.entity';
import { MembershipSource, UserGroup } from '../../src/users/user-group.entity';
import { User } from '../../src/users/user.entity';
import { makeGroup, makeRule } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';
import { ENTRA_SEQUENCE } from './fixtures/entra';
import { OKTA_SEQUENCE } from './fixtures/okta';
import { provisioningToken } from './support/scim-client';
import { replay } from './support/replay';

/*
 * The request sequences Okta's and Entra ID's provisioning clients send (fixtures/, each citing
 * the provider's documentation), replayed over HTTP against a running Gatehouse, with what each
 * step must have done to Gatehouse checked as it goes: the user created as an SSO user linked to
 * its identity, the SCIM group mapped by a rule onto a Gatehouse group and its permissions, the
 * membership removed, the deactivation ending the user's session at once, deletes.
 */
describe('SCIM sequences of the identity providers', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());
  const em = () => server.db.orm.em.fork();

  async function sessionOf(username: string): Promise<string> {
    const fork = em();
    const user = await fork.findOneOrFail(User, { username });
    const policy = { idleTimeout: 3600, absoluteTimeout: 3600 };
    return (await createSession(fork, user, { authMethod: AuthMethod.OIDC }, policy)).token;
  }
  const me = async (token: string) => (await server.graphql(MyAccountDocument, {}, token)).data?.me ?? null;
  async function ruleMemberships(scimUserId: string): Promise<string[]> {
    const fork = em();
    const scimUser = await fork.findOneOrFail(ScimUser, { id: scimUserId });
    const rows = await fork.find(UserGroup, { user: scimUser.user, source: MembershipSource.SSO_RULE }, { populate: ['group'] });
    return rows.map((row) => row.group.name).sort();
  }

  async function mapped(directoryGroup: string): Promise<Group> {
    const group = await makeGroup(em(), ['core.view_tweet', 'core.change_tweet']);
    await makeRule(em(), group, directoryGroup);
    return group;
  }

  it('replays Okta’s sequence: create, read, filter, PUT, group push, membership add and remove, deactivation, group delete', async () => {
    const issuer = 'https://example.okta.com/oauth2/default';
    const group = await mapped('Okta Support');
    const { secret } = await provisioningToken(server, issuer, 'Okta');
    let session = '';
    await replay(server, secret, OKTA_SEQUENCE, {
      'Create the user': async () => {
        const user = await em().findOneOrFail(User, { username: 'test.user@okta.local' }, { populate: ['password'] });
        expect(user).toMatchObject({
          firstName: 'Test',
          lastName: 'User',
          email: 'test.user@okta.local',
          isActive: true,
          isStaff: true,
          isSuperuser: false,
          password: null, // Okta's password is never taken: the user signs in through the provider
        });
        expect(await em().count(SsoIdentity, { user, issuer, subject: '00ujl29u0le5T6Aj10h7' })).toBe(1);
        session = await sessionOf('test.user@okta.local');
        expect((await me(session))?.permissions).toEqual([]);
      },
      'Update the user (PUT)': async () => {
        expect(await em().findOneOrFail(User, { username: 'test.user@okta.local' })).toMatchObject({ firstName: 'Another' });
      },
      'Add a member to the group': async (vars) => {
        expect(await ruleMemberships(vars.userId)).toEqual([group.name]);
        expect((await me(session))?.permissions).toEqual(['core.change_tweet', 'core.view_tweet']);
      },
      'Remove the member from the group': async (vars) => {
        expect(await ruleMemberships(vars.userId)).toEqual([]);
        expect((await me(session))?.permissions).toEqual([]);
      },
      'Add the member again': async (vars) => {
        expect(await ruleMemberships(vars.userId)).toEqual([group.name]);
      },
      'Deactivate the user': async () => {
        const user = await em().findOneOrFail(User, { username: 'test.user@okta.local' });
        expect(user.isActive).toBe(false);
        expect(await em().count(Session, { user })).toBe(0);
        expect(await me(session)).toBeNull();
      },
      'Delete the group': async (vars) => {
        expect(await ruleMemberships(vars.userId)).toEqual([]);
      },
    });
  });

  it('replays Entra ID’s sequence: create, get, query, multi- and single-valued updates, group create, rename, members add and remove, disable, deletes', async () => {
    const issuer = 'https://login.microsoftonline.com/7e3f8f4c-0000-4000-8000-000000000001/v2.0';
    const group = await mapped('1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName');
    const { secret } = await provisioningToken(server, issuer, 'Entra ID');
    let session = '';
    let userId = 0;
    await replay(server, secret, ENTRA_SEQUENCE, {
      'Create User': async () => {
        const user = await em().findOneOrFail(User, { username: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1' });
        userId = user.id;
        expect(user).toMatchObject({ firstName: 'givenName', lastName: 'familyName', isActive: true, isStaff: true });
        expect(await em().count(SsoIdentity, { user, issuer, subject: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef' })).toBe(1);
        session = await sessionOf(user.username);
      },
      'Update User [Multi-valued properties]': async () => {
        expect(await em().findOneOrFail(User, { id: userId })).toMatchObject({
          email: 'updatedEmail@microsoft.com',
          lastName: 'updatedFamilyName',
        });
      },
      'Update User [Single-valued properties]': async () => {
        expect((await em().findOneOrFail(User, { id: userId })).username).toBe('5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');
        expect((await me(session))?.user.username).toBe('5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');
      },
      'Update Group [Add Members]': async (vars) => {
        expect(await ruleMemberships(vars.userId)).toEqual([group.name]);
        expect((await me(session))?.permissions).toEqual(['core.change_tweet', 'core.view_tweet']);
      },
      'Update Group [Remove Members]': async (vars) => {
        expect(await ruleMemberships(vars.userId)).toEqual([]);
      },
      'Disable User': async () => {
        expect(await em().findOneOrFail(User, { id: userId })).toMatchObject({ isActive: false });
        expect(await em().count(Session, { user: userId })).toBe(0);
        expect(await me(session)).toBeNull();
      },
      'Delete User': async () => {
        expect(await em().count(User, { id: userId })).toBe(0);
        expect(await em().count(SsoIdentity, { user: userId })).toBe(0);
      },
    });
  });
});
