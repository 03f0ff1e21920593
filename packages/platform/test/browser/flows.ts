import type { Page } from 'playwright-core';
import { totpCodeAt } from '../../src/accounts/totp.ts';

/** What people do on the control plane's pages, step by step, for the browser tests and the screenshots. */

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

export const controlUrl = (port: number, path = '/') => `http://localhost:${port}${path}`;
export const instanceOrigin = (handle: string, port: number) => `http://${handle}.localhost:${port}`;

/** Types a handle on the sign-up page and returns the availability message once it is shown. */
export async function pickHandle(
  page: Page,
  handle: string,
  expected: 'ok' | 'error' = 'ok',
): Promise<string> {
  await page.getByLabel('Handle', { exact: true }).fill(handle);
  const message = page.locator(`#handle-msg.${expected}`);
  await message.waitFor();
  return (await message.textContent()) ?? '';
}

/**
 * The recovery-codes step: reads the codes, promises they are saved, continues to the progress
 * view, or straight into the instance when it was ready already (the page then leaves at once,
 * and the progress view may never be seen).
 */
export async function saveRecoveryCodes(page: Page): Promise<string[]> {
  await page.locator('#step-codes').waitFor();
  const codes = await page.locator('#signup-codes-list li').allTextContents();
  await page.getByLabel('I have saved these codes somewhere safe').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await Promise.race([
    page.locator('#step-progress').waitFor(),
    page.waitForURL((url) => url.pathname !== '/signup'),
  ]);
  return codes;
}

/** Signs up with the page's (virtual) authenticator, up to the recovery codes. */
export async function startPasskeySignup(page: Page, port: number, handle: string): Promise<void> {
  await page.goto(controlUrl(port, '/signup'));
  await pickHandle(page, handle);
  await page.getByRole('button', { name: 'Create with a passkey' }).click();
  await page.locator('#step-codes').waitFor();
}

/** Signs up with an authenticator app, up to the recovery codes; returns the app's secret. */
export async function startTotpSignup(page: Page, port: number, handle: string): Promise<string> {
  await page.goto(controlUrl(port, '/signup'));
  await pickHandle(page, handle);
  await page.getByRole('button', { name: 'Use an authenticator app instead' }).click();
  const secret = await readTotpSecret(page, 'signup-totp');
  await page.getByLabel('The 6-digit code your app shows').fill(totpCodeAt(secret, Date.now()));
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.locator('#step-codes').waitFor();
  return secret;
}

/** The secret of a TOTP setup block, as text from the page (what a person would type into their app). */
export async function readTotpSecret(page: Page, prefix: string): Promise<string> {
  const node = page.locator(`#${prefix}-secret:not(:empty)`);
  await node.waitFor();
  return ((await node.textContent()) ?? '').replace(/\s+/g, '');
}

/** A 6-digit code that is none of those valid around now (the previous, current and next step). */
export function wrongTotpCode(secret: string): string {
  const now = Date.now();
  const valid = new Set([-30_000, 0, 30_000].map((d) => totpCodeAt(secret, now + d)));
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, '0');
    if (!valid.has(code)) return code;
  }
}

/** On the sign-in page: the handle, then whatever the account signs in with happens next. */
export async function enterHandle(page: Page, handle: string): Promise<void> {
  await page.getByLabel('Handle', { exact: true }).fill(handle);
  await page.getByRole('button', { name: 'Continue' }).click();
}

/**
 * Waits until the page shows `handle`'s instance: its own page, past the router's "waking up"
 * page if the wake took a while (that page reloads itself into the instance).
 */
export async function waitForInstance(page: Page, handle: string, port: number): Promise<void> {
  const origin = `${instanceOrigin(handle, port)}/`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    // Read between navigations too: a reload in progress reads as no title yet.
    const title = page.url().startsWith(origin) ? await page.title().catch(() => '') : '';
    // Chromium titles a document still loading (the waking page's reload) "Loading <url>".
    if (title && !title.startsWith('Waking up') && !title.startsWith('Loading ')) return;
    if (Date.now() > deadline) throw new Error(`not in ${handle}'s instance: at ${page.url()} ("${title}")`);
    await page.waitForTimeout(100);
  }
}

/** The instance's own API, called from the page: answers only to a browser signed in there. */
export async function instanceApiStatus(page: Page): Promise<{ status: number; handle?: string }> {
  // A page still finishing a redirect (sign-in, the waking page's reload) aborts a fetch made in
  // it ("Failed to fetch"): ask again once it has loaded; a refusal is an answer, not retried.
  for (let attempt = 1; ; attempt++) {
    await page.waitForLoadState('load');
    try {
      return await page.evaluate(async () => {
        const r = await fetch('/api/system/info');
        const body = r.ok ? ((await r.json()) as { handle?: string }) : {};
        return { status: r.status, handle: body.handle };
      });
    } catch (err) {
      const aborted = /Failed to fetch|Execution context was destroyed/.test(String(err));
      if (!aborted || attempt === 3) throw err;
      await page.waitForTimeout(200);
    }
  }
}
