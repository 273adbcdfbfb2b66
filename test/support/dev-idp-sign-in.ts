import type { Page } from 'playwright-core';
import { readForm, type Browser } from './browser';

/**
 * In a browser tab showing Gatehouse's `/login`: chooses "Sign in with single sign-on", signs in
 * on the development identity provider's form at `idpUrl` and waits until the browser is back on
 * Gatehouse (at the sign-in's `next`, or a refusal on `/login`).
 */
export async function signInThroughDevIdp(page: Page, idpUrl: string, username: string, password: string): Promise<void> {
  const gatehouse = new URL(page.url()).origin;
  await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
  await page.waitForURL(`${idpUrl}/**`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.origin === gatehouse && url.pathname !== '/oidc/callback/');
}

/**
 * The same sign-in without a browser engine: `browser` (a cookie jar, test/support/browser.ts)
 * follows Gatehouse's `/oidc/authenticate/` to the development identity provider at `idpUrl`,
 * submits its form and comes back through the callback, holding the session cookie for
 * `gatehouseUrl`'s host. Throws, with the page it reached, when the sign-in does not succeed.
 */
export async function signInThroughDevIdpOverHttp(
  browser: Browser,
  gatehouseUrl: string,
  idpUrl: string,
  username: string,
  password: string,
): Promise<void> {
  const start = new URL('/oidc/authenticate/?next=%2F', gatehouseUrl);
  const atIdp = await browser.follow(start, (next) => next.origin === idpUrl);
  if (atIdp.url.origin !== idpUrl || atIdp.response.status !== 200)
    throw new Error(`expected the identity provider's sign-in form, got ${atIdp.response.status} at ${atIdp.url.href}`);
  const action = new URL(readForm(await atIdp.response.text()).action, atIdp.url);
  const submitted = await browser.postForm(action, { username, password });
  const back = await browser.followRedirects(action, submitted, (next) => next.origin === idpUrl || next.pathname === '/oidc/callback/');
  const landed = back.next ?? back.url;
  if (back.url.pathname !== '/oidc/callback/' || back.response.status !== 303 || landed.pathname === '/login')
    throw new Error(`the sign-in of ${username} did not succeed: ${back.response.status} at ${back.url.href}, next ${landed.href}`);
}
