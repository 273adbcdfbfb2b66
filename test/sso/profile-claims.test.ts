import { User } from '../../src/users/user.entity';
import { profileNames } from '../../src/sso/sso-login.steps';
import { makeGroup, makeRule } from '../support/factories';
import { startSsoTestBed, type SsoTestBed } from './support/sso-test-bed';

describe('profile claims: names', () => {
  it.each<[string, Record<string, unknown>, { firstName: string | null; lastName: string | null }]>([
    [
      'given_name and family_name',
      { given_name: 'Ada', family_name: 'Lovelace', name: 'Countess of Lovelace' },
      { firstName: 'Ada', lastName: 'Lovelace' },
    ],
    ['given_name alone (the last name left as it is)', { given_name: 'Ada', name: 'Ada Lovelace' }, { firstName: 'Ada', lastName: null }],
    ['name alone, split once at its first space', { name: 'Ada King Lovelace' }, { firstName: 'Ada', lastName: 'King Lovelace' }],
    ['name of one word', { name: ' Cher ' }, { firstName: 'Cher', lastName: '' }],
    ['no name at all', { email: 'x@example.com' }, { firstName: null, lastName: null }],
    ['a name that is not a string', { name: ['Ada', 'Lovelace'] }, { firstName: null, lastName: null }],
  ])('%s', (_name, claims, expected) => {
    expect(profileNames(claims)).toEqual(expected);
  });

  it('cuts each name to 150 characters', () => {
    const { firstName, lastName } = profileNames({ name: `${'a'.repeat(200)} ${'b'.repeat(200)}` });
    expect(firstName).toHaveLength(150);
    expect(lastName).toHaveLength(150);
  });
});

describe.each([
  ['off (the default)', {}, false],
  ['on', { OIDC_TRUST_EMAIL: 'true' }, true],
])('single sign-on with OIDC_TRUST_EMAIL %s', (_name, env, trusted) => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed({ env });
    const em = bed.server.db.orm.em.fork();
    await makeRule(em, await makeGroup(em, ['core.view_tweet']), 'STAFF');
  });
  afterAll(() => bed?.stop());
  const user = (username: string) => bed.server.db.orm.em.fork().findOneOrFail(User, { username });

  it('names a person whose provider sends only `name` (as LemonLDAP::NG does) from it', async () => {
    bed.idp.directory.set('ada', { groups: ['STAFF'], name: 'Ada King Lovelace' });
    await bed.signIn('ada');
    expect(await user('ada')).toMatchObject({ firstName: 'Ada', lastName: 'King Lovelace' });
  });

  it(`${trusted ? 'keeps' : 'ignores'} an e-mail the provider sends without email_verified`, async () => {
    bed.idp.directory.set('bob', { groups: ['STAFF'], email: 'bob@example.com' });
    await bed.signIn('bob');
    expect((await user('bob')).email).toBe(trusted ? 'bob@example.com' : '');
  });

  it('never keeps an e-mail the provider says is not verified', async () => {
    bed.idp.directory.set('cyd', { groups: ['STAFF'], email: 'cyd@example.com', email_verified: false });
    await bed.signIn('cyd');
    expect((await user('cyd')).email).toBe('');
  });
});
