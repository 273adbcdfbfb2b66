import { safeNext } from '../../src/http/safe-next';
import { LoginTransaction } from '../../src/sso/login-transaction.entity';
import { makeUser } from '../support/factories';
import { Browser } from '../support/browser';
import { startSsoTestBed, type SsoTestBed } from './support/sso-test-bed';

const OPEN_REDIRECTS = [
  '//evil.example',
  'https://evil.example',
  'http://evil.example/graphql',
  '/\\evil.example',
  '\\\\evil.example',
  'javascript:alert(1)',
  'JaVaScRiPt:alert(1)',
  '/%2F%2Fevil.example',
  '/%2fevil.example',
  '/%5Cevil.example',
  '%2F%2Fevil.example',
  '/\t/evil.example',
  '/graphql\r\nSet-Cookie: x=1',
  ' /graphql',
  'graphql',
  '',
  '/%E2%80%AE',
  '/%',
];

describe('safeNext', () => {
  it.each(OPEN_REDIRECTS)('falls back to / (the account page) for %j', (value) => {
    expect(safeNext(value)).toBe('/');
  });

  it.each(['/graphql', '/graphql?query=%7B%20me%20%7D', '/admin/users/1', '/a/b#c'])('keeps the same-origin path %j', (value) => {
    expect(safeNext(value)).toBe(value);
  });

  it('falls back for anything that is not a string', () => {
    expect(safeNext(undefined)).toBe('/');
    expect(safeNext(['/a', '/b'])).toBe('/');
  });
});

describe('GET /login and POST /login', () => {
  let bed: SsoTestBed;
  beforeAll(async () => {
    bed = await startSsoTestBed();
  });
  afterAll(() => bed?.stop());
  const em = () => bed.server.db.orm.em.fork();

  it('serves a small self-contained page with a strict CSP, the password form and the SSO button', async () => {
    const response = await fetch(`${bed.publicUrl}/login?next=/graphql%3Fx%3D1`);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toMatch(/form-action 'self'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    const html = await response.text();
    expect(html).toContain('<form method="post" action="/login">');
    expect(html).toContain('name="next" value="/graphql?x=1"');
    expect(html).toContain('href="/oidc/authenticate/?next=%2Fgraphql%3Fx%3D1">Sign in with single sign-on</a>');
    expect(html).not.toMatch(/<script|https?:\/\//);
  });

  it.each([
    ['access_not_granted', 'Access not granted'],
    ['idp_unavailable', 'The identity provider is unavailable'],
    ['sso_failed', 'Sign-in failed'],
  ])('shows the message for error=%s', async (code, message) => {
    expect(await (await fetch(`${bed.publicUrl}/login?error=${code}`)).text()).toContain(message);
  });

  it('does not reflect an unknown error code or markup', async () => {
    const html = await (await fetch(`${bed.publicUrl}/login?error=%3Cscript%3E&next=%22%3E%3Cscript%3E`)).text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('name="next" value="/"');
  });

  it('signs in with a password: session cookie and 303 to next', async () => {
    const user = await makeUser(em(), { username: 'formuser' });
    await bed.server.signIn(user, 'correct horse battery staple'); // sets the password
    const browser = new Browser();
    const response = await browser.postForm(
      `${bed.publicUrl}/login`,
      { username: 'formuser', password: 'correct horse battery staple', next: '/graphql?from=form' },
      { origin: bed.publicUrl },
    );
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/graphql?from=form');
    expect(browser.cookie('gatehouse_session')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('re-renders the page with the generic message on a wrong password, and no cookie', async () => {
    const response = await fetch(`${bed.publicUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: bed.publicUrl },
      body: new URLSearchParams({ username: 'formuser', password: 'wrong', next: '/graphql' }),
      redirect: 'manual',
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('set-cookie')).toBeNull();
    const html = await response.text();
    expect(html).toContain('Invalid username or password.');
    expect(html).not.toMatch(/at .*\.ts|Error:/);
  });

  it('refuses a cross-origin or origin-less POST (login CSRF)', async () => {
    for (const headers of [{ origin: 'https://evil.example' }, { referer: 'https://evil.example/page' }, {}] as Array<
      Record<string, string>
    >) {
      const response = await fetch(`${bed.publicUrl}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ username: 'formuser', password: 'correct horse battery staple' }),
        redirect: 'manual',
      });
      expect(response.status).toBe(403);
      expect(response.headers.get('set-cookie')).toBeNull();
    }
  });

  it.each(OPEN_REDIRECTS.filter(Boolean))('never redirects off-site after a password sign-in with next=%j', async (next) => {
    const response = await fetch(`${bed.publicUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: bed.publicUrl },
      body: new URLSearchParams({ username: 'formuser', password: 'correct horse battery staple', next }),
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/');
  });

  it.each(OPEN_REDIRECTS.filter(Boolean))('stores / as the SSO return path for next=%j', async (next) => {
    const response = await fetch(`${bed.publicUrl}/oidc/authenticate/?next=${encodeURIComponent(next)}`, { redirect: 'manual' });
    const state = new URL(response.headers.get('location')!).searchParams.get('state')!;
    expect((await em().findOneOrFail(LoginTransaction, { state })).next).toBe('/');
  });
});
