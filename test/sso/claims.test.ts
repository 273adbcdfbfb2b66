import { LogEntry } from '../../src/audit/log-entry.entity';
import { User } from '../../src/users/user.entity';
import { MeDocument as ME, PreviewGroupMappingDocument as PREVIEW } from '../generated/graphql';
import { makeGroup, makeRule } from '../support/factories';
import { writtenSince } from '../support/snapshot';
import { startEvilIdp, type EvilIdp } from './support/evil-idp';
import { startSsoTestBed, type SsoTestBed } from './support/sso-test-bed';

const AUDIENCE = 'https://gatehouse.test/api';
const now = () => Math.floor(Date.now() / 1000);

async function ruleFor(bed: SsoTestBed, pattern: string): Promise<void> {
  const em = bed.server.db.orm.em.fork();
  await makeRule(em, await makeGroup(em, ['core.view_tweet']), pattern);
}

describe('a groups claim that is a single string (through the real provider)', () => {
  let strict: SsoTestBed;
  let lenient: SsoTestBed;
  beforeAll(async () => {
    [strict, lenient] = await Promise.all([startSsoTestBed(), startSsoTestBed({ env: { OIDC_GROUPS_CLAIM_ALLOW_STRING: 'true' } })]);
    await Promise.all([ruleFor(strict, 'ONE_GROUP'), ruleFor(lenient, 'ONE_GROUP')]);
  });
  afterAll(async () => {
    await strict?.stop();
    await lenient?.stop();
  });

  it('is refused as groups_claim_not_a_list by default: no user, no session, only the audit entry', async () => {
    strict.idp.directory.set('stringy', { groups: 'ONE_GROUP' });
    const before = await strict.server.db.snapshot();
    const { response, sessionToken } = await strict.signIn('stringy');
    expect(response.headers.get('location')).toBe('/login?error=access_not_granted');
    expect(sessionToken).toBeNull();
    expect(writtenSince(before, await strict.server.db.snapshot())).toEqual({ admin_logentry: 1 });
    const [entry] = await strict.server.db.orm.em
      .fork()
      .find(LogEntry, { appLabel: 'sso', model: 'login' }, { orderBy: { id: 'desc' }, limit: 1 });
    expect(entry.changeMessage).toEqual([
      { sso_login: expect.objectContaining({ outcome: 'refused', subject: 'stringy', groupsClaimProblem: 'not_a_list' }) },
    ]);
    const { token } = await strict.server.signInWith(['sso.view_groupmappingrule']);
    const preview = await strict.server.graphql(PREVIEW, { claims: { groups: 'ONE_GROUP' } }, token);
    expect(preview.data?.previewGroupMapping).toMatchObject({
      loginAllowed: false,
      refusal: 'groups_claim_not_a_list',
      groupsClaimProblem: 'NOT_A_LIST',
    });
  });

  it('counts as a list of one with OIDC_GROUPS_CLAIM_ALLOW_STRING=true', async () => {
    lenient.idp.directory.set('stringy', { groups: 'ONE_GROUP' });
    const { sessionToken } = await lenient.signIn('stringy');
    expect((await lenient.me(sessionToken))?.permissions).toEqual(['core.view_tweet']);
  });
});

describe('clock tolerance and future iat of bearer JWTs (signed with the real provider’s key)', () => {
  let defaults: SsoTestBed;
  let tight: SsoTestBed;
  beforeAll(async () => {
    [defaults, tight] = await Promise.all([
      startSsoTestBed({ env: { OIDC_API_AUDIENCE: AUDIENCE } }),
      startSsoTestBed({ env: { OIDC_API_AUDIENCE: AUDIENCE, OIDC_CLOCK_TOLERANCE: '5' } }),
    ]);
    await Promise.all([ruleFor(defaults, 'API_USERS'), ruleFor(tight, 'API_USERS')]);
  });
  afterAll(async () => {
    await defaults?.stop();
    await tight?.stop();
  });
  const token = (bed: SsoTestBed, claims: Record<string, unknown>) =>
    bed.idp.sign({ iss: bed.idp.issuer, aud: AUDIENCE, sub: 'clocky', iat: now(), exp: now() + 300, groups: ['API_USERS'], ...claims });
  const username = async (bed: SsoTestBed, jwt: string) => (await bed.server.graphql(ME, {}, jwt)).data?.me?.user.username ?? null;

  it('gets the ID tokens’ 30 s by default: a token expired 10 s ago is still accepted', async () => {
    expect(await username(defaults, await token(defaults, { iat: now() - 300, exp: now() - 10 }))).toBe('clocky');
  });

  it('follows OIDC_CLOCK_TOLERANCE: with 5 s the same token is refused', async () => {
    expect(await username(tight, await token(tight, { iat: now() - 300, exp: now() - 10 }))).toBeNull();
  });

  it('refuses an iat further in the future than the tolerance, writing nothing; accepts one within it', async () => {
    const before = await defaults.server.db.snapshot();
    expect(await username(defaults, await token(defaults, { sub: 'from-the-future', iat: now() + 300, exp: now() + 900 }))).toBeNull();
    expect(await defaults.server.db.snapshot()).toEqual(before);
    expect(await defaults.server.db.orm.em.fork().count(User, { username: 'from-the-future' })).toBe(0);
    expect(await username(defaults, await token(defaults, { iat: now() + 10 }))).toBe('clocky');
  });
});

// A real provider cannot be made to issue an ID token dated in the future or expired a moment
// ago: the stand-in of evil-idp.ts can.
describe('clock tolerance and future iat of ID tokens (the stand-in provider)', () => {
  let defaults: SsoTestBed<EvilIdp>;
  let tight: SsoTestBed<EvilIdp>;
  beforeAll(async () => {
    [defaults, tight] = await Promise.all([
      startSsoTestBed({ provider: startEvilIdp }),
      startSsoTestBed({ provider: startEvilIdp, env: { OIDC_CLOCK_TOLERANCE: '5' } }),
    ]);
    for (const bed of [defaults, tight]) {
      const em = bed.server.db.orm.em.fork();
      await makeRule(em, await makeGroup(em, ['core.view_tweet']), 'EVIL_GROUP');
    }
  });
  afterAll(async () => {
    await defaults?.stop();
    await tight?.stop();
  });

  it('refuses an ID token issued five minutes in the future, persisting nothing', async () => {
    defaults.idp.mint = (nonce) => defaults.idp.idToken(nonce, { sub: 'future', iat: now() + 300, exp: now() + 900 });
    const before = await defaults.server.db.snapshot();
    const { response, sessionToken } = await defaults.signIn();
    expect(response.headers.get('location')).toBe('/login?error=sso_failed');
    expect(sessionToken).toBeNull();
    expect(await defaults.server.db.snapshot()).toEqual(before);
  });

  it('accepts an ID token issued within the tolerance ahead', async () => {
    defaults.idp.mint = (nonce) => defaults.idp.idToken(nonce, { sub: 'nearly-now', iat: now() + 10 });
    const { sessionToken } = await defaults.signIn();
    expect(sessionToken).not.toBeNull();
  });

  it('follows OIDC_CLOCK_TOLERANCE for exp: an ID token expired 10 s ago passes with 30 s, not with 5 s', async () => {
    const expired = (idp: EvilIdp) => (nonce: string) => idp.idToken(nonce, { sub: 'just-expired', iat: now() - 300, exp: now() - 10 });
    defaults.idp.mint = expired(defaults.idp);
    expect((await defaults.signIn()).sessionToken).not.toBeNull();
    tight.idp.mint = expired(tight.idp);
    const refused = await tight.signIn();
    expect(refused.response.headers.get('location')).toBe('/login?error=sso_failed');
    expect(refused.sessionToken).toBeNull();
  });
});
