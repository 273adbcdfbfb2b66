import { readHiddenFields, type Browser } from '../../support/browser';

/**
 * Signs the browser's person out at the provider itself, as they would on its own page:
 * `GET /session/end` (oidc-provider's RP-initiated logout, without a client), then its
 * confirmation form with "Yes, sign me out" (`logout=yes`: every client's session ends). The
 * provider sends its back-channel logout tokens before it answers, so when this resolves they
 * have been delivered (or have failed). Returns when the confirmation was answered.
 */
export async function signOutAtProvider(browser: Browser, issuer: string): Promise<number> {
  const page = await browser.get(`${issuer}/session/end`);
  if (page.status !== 200) throw new Error(`the provider's logout page answered ${page.status}`);
  const fields = readHiddenFields(await page.text());
  if (!fields.xsrf) throw new Error('no xsrf field on the provider logout page');
  const confirmedAt = Date.now();
  const confirmed = await browser.postForm(`${issuer}/session/end/confirm`, { ...fields, logout: 'yes' });
  if (confirmed.status >= 400)
    throw new Error(`the provider's logout confirmation answered ${confirmed.status}: ${await confirmed.text()}`);
  return confirmedAt;
}
