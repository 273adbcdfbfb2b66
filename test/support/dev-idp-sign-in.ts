import type { Page } from 'playwright-core';

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
