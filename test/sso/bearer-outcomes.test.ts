import { Session } from '../../src/sessions/session.entity';
import { MembershipSource, UserGroup } from '../../src/users/user-group.entity';
import { User } from '../../src/users/user.entity';
import { makeGroup, makeRule } from '../support/factories';
import { MeDocument as ME } from '../generated/graphql';
import { startSsoTestBed, type SsoTestBed } from './support/sso-test-bed';

/*
 * A provider access token used again: its sign-in's outcome is reused (bearer-cache.ts) while
 * nothing the sign-in read has changed, and anything that changed sends the request through the
 * whole sign-in again — with the answer the sign-in gives, exactly as without the cache.
 */

const AUDIENCE = 'https://gatehouse.test/api';

describe('a provider JWT used on several requests', () => {
  let bed: SsoTestBed;
  let ruleId: number;
  beforeAll(async () => {
    bed = await startSsoTestBed({ env: { OIDC_API_AUDIENCE: AUDIENCE } });
    ruleId = (await makeRule(bed.server.db.orm.em.fork(), await makeGroup(bed.server.db.orm.em.fork(), ['core.view_tweet']), 'API_USERS'))
      .id;
  });
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();
  const now = () => Math.floor(Date.now() / 1000);
  const token = (sub: string, extra: Record<string, unknown> = {}) =>
    bed.idp.sign({
      iss: bed.idp.issuer,
      aud: AUDIENCE,
      sub,
      iat: now(),
      exp: now() + 300,
      groups: ['API_USERS'],
      given_name: 'Ada',
      ...extra,
    });
  const me = async (jwt: string) => (await bed.server.graphql(ME, {}, jwt)).data?.me ?? null;
  const ruleMemberships = async (username: string) =>
    (await em().find(UserGroup, { user: { username }, source: MembershipSource.SSO_RULE })).map((m) => m.rule?.id);

  it('runs the sign-in once: the next requests check it still holds in one statement, writing nothing', async () => {
    const jwt = await token('again');
    expect(await me(jwt)).toEqual({ user: { username: 'again' }, permissions: ['core.view_tweet'] });
    bed.server.resetQueries();
    expect(await me(jwt)).toEqual({ user: { username: 'again' }, permissions: ['core.view_tweet'] });
    // The remembered outcome checked, and the user's permissions read with it: one statement.
    expect(bed.server.queries).toHaveLength(1);
    const statements = bed.server.queries.join('\n');
    expect(statements).not.toMatch(/\bbegin\b|insert into|update "?auth_user"? set|sso_groupmappingrule/i);
    expect(statements).toMatch(/from sso_identity i join auth_user u/);
  });

  it('reads the permissions with the remembered outcome: a grant changed since shows on the next request; a superuser has every permission', async () => {
    const jwt = await token('granted');
    expect(await me(jwt)).toEqual({ user: { username: 'granted' }, permissions: ['core.view_tweet'] });
    const user = await em().findOneOrFail(User, { username: 'granted' });
    await em().execute(
      `insert into auth_user_user_permissions (user_id, permission_id)
       select ?, id from auth_permission where app_label = 'core' and codename = 'view_language'`,
      [user.id],
    );
    bed.server.resetQueries();
    expect(await me(jwt)).toEqual({ user: { username: 'granted' }, permissions: ['core.view_language', 'core.view_tweet'] });
    expect(bed.server.queries).toHaveLength(1);
    await em().nativeUpdate(User, { id: user.id }, { isSuperuser: true });
    const all = (await em().find('Permission', {})).length;
    expect((await me(jwt))?.permissions).toHaveLength(all);
  });

  it('refuses the token of an account disabled since, revoking as the sign-in does', async () => {
    const jwt = await token('disabled-later');
    expect(await me(jwt)).not.toBeNull();
    const user = await em().findOneOrFail(User, { username: 'disabled-later' });
    const session = await bed.server.signIn(user);
    await em().nativeUpdate(User, { id: user.id }, { isActive: false });
    expect(await me(jwt)).toBeNull();
    expect(await ruleMemberships('disabled-later')).toEqual([]);
    expect(await em().count(Session, { user: user.id })).toBe(0);
    expect((await bed.server.graphql(ME, {}, session)).data).toEqual({ me: null });
  });

  it('gives back a rule membership removed by hand, and a profile changed by hand, as the sign-in does', async () => {
    const jwt = await token('edited');
    expect(await me(jwt)).not.toBeNull();
    await em().nativeDelete(UserGroup, { user: { username: 'edited' }, source: MembershipSource.SSO_RULE });
    await em().nativeUpdate(User, { username: 'edited' }, { firstName: 'Changed' });
    expect(await me(jwt)).toEqual({ user: { username: 'edited' }, permissions: ['core.view_tweet'] });
    expect(await ruleMemberships('edited')).toEqual([ruleId]);
    expect((await em().findOneOrFail(User, { username: 'edited' })).firstName).toBe('Ada');
  });

  it('follows a rule change at once: a new rule’s group is granted, a deleted rule’s taken away', async () => {
    const jwt = await token('rules-change', { groups: ['API_USERS', 'API_ADMINS'] });
    expect(await me(jwt)).toEqual({ user: { username: 'rules-change' }, permissions: ['core.view_tweet'] });
    const admins = await makeRule(em(), await makeGroup(em(), ['core.view_language']), 'API_ADMINS');
    expect(await me(jwt)).toEqual({ user: { username: 'rules-change' }, permissions: ['core.view_language', 'core.view_tweet'] });
    expect((await ruleMemberships('rules-change')).sort()).toEqual([ruleId, admins.id].sort());
    await em().nativeDelete('GroupMappingRule', { id: admins.id });
    expect(await me(jwt)).toEqual({ user: { username: 'rules-change' }, permissions: ['core.view_tweet'] });
  });
});
