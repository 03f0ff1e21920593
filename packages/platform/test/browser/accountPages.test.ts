import { launchChromium, type TestBrowser, toolAvailable } from '@matrixos/shared/testing';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { STEP_UP_TTL_MS } from '../../src/accounts/sessions.ts';
import { totpCodeAt } from '../../src/accounts/totp.ts';
import { startTestPlatform, type TestPlatform } from '../harness.ts';
import {
  controlUrl,
  enterHandle,
  instanceApiStatus,
  instanceOrigin,
  PHONE,
  pickHandle,
  readTotpSecret,
  saveRecoveryCodes,
  startPasskeySignup,
  startTotpSignup,
  waitForInstance,
  wrongTotpCode,
} from './flows.ts';
import { addVirtualAuthenticator } from './virtualAuthenticator.ts';

/** A 6-digit code that is none of those valid around `now` (the platform's clock, here). */
function wrongCodeAt(secret: string, now: number): string {
  const valid = new Set([-30_000, 0, 30_000].map((d) => totpCodeAt(secret, now + d)));
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, '0');
    if (!valid.has(code)) return code;
  }
}

/** Whether the page fits its viewport: nothing wider than the screen (a phone's, here). */
async function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

/**
 * The account pages in real Chromium against a real platform with real gateways (process
 * driver): the authenticator-app path on a phone, the admin dashboard putting an instance to
 * sleep and its owner waking it, and the dashboard's management of sign-in methods. The whole
 * sign-up against Docker is in passkeySignup.test.ts.
 */
describe.skipIf(!toolAvailable('chromium'))('account pages in Chromium', () => {
  let t: TestPlatform;
  const browsers: TestBrowser[] = [];

  /** A person with a browser of their own (their own cookies) and, if asked, a passkey device. */
  async function person(opts: { passkeys?: boolean; viewport?: { width: number; height: number } } = {}) {
    const browser = await launchChromium({ viewport: opts.viewport });
    browsers.push(browser);
    const page = await browser.newPage();
    if (opts.passkeys) await addVirtualAuthenticator(page);
    return page;
  }

  async function signOut(page: Page): Promise<void> {
    await page.goto(controlUrl(t.port, '/dashboard'));
    await page.locator('header [data-signout]').click();
    await page.waitForURL(controlUrl(t.port, '/'));
  }

  async function stateOf(handle: string): Promise<string> {
    return (await t.admin('GET', `/containers/${handle}`)).json<{ instance: { state: string } }>().instance
      .state;
  }

  /** How far the platform's clock is ahead of the real one (to let a session's proof go stale). */
  let skew = 0;
  const platformNow = () => Date.now() + skew;

  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'process', clock: platformNow });
  });
  afterEach(async () => {
    for (const b of browsers.splice(0)) await b.close();
  });
  afterAll(() => t?.destroy());

  it('signs up with an authenticator app on a phone, explains a wrong code, and signs in with codes', async () => {
    const handle = 'tess';
    const page = await person({ viewport: PHONE });
    await page.goto(controlUrl(t.port, '/signup'));
    await pickHandle(page, handle);
    expect(await fitsWidth(page)).toBe(true);
    await page.getByRole('button', { name: 'Use an authenticator app instead' }).click();
    const secret = await readTotpSecret(page, 'signup-totp');
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await expect
      .poll(() => page.locator('#signup-totp-qr').getAttribute('src'))
      .toMatch(/^data:image\/svg\+xml/);
    expect(await fitsWidth(page)).toBe(true);

    const code = page.getByLabel('The 6-digit code your app shows');
    await code.fill(wrongTotpCode(secret));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.locator('#signup-totp-msg.error').waitFor();
    expect(await page.locator('#signup-totp-msg').textContent()).toBe(
      'That code is not right; check the time on your phone and try the current code.',
    );

    await code.fill(totpCodeAt(secret, Date.now()));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.locator('#step-codes').waitFor();
    expect(await fitsWidth(page)).toBe(true);
    const recoveryCodes = await saveRecoveryCodes(page);
    await waitForInstance(page, handle, t.port);
    expect(await instanceApiStatus(page)).toEqual({ status: 200, handle });

    // Back in with the app: the next step's code (the one used at sign-up cannot be used again).
    await signOut(page);
    await page.goto(controlUrl(t.port, '/login'));
    await enterHandle(page, handle);
    await page
      .getByLabel('The 6-digit code from your authenticator app')
      .fill(totpCodeAt(secret, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await waitForInstance(page, handle, t.port);
    expect(await instanceApiStatus(page)).toEqual({ status: 200, handle });

    // And with a recovery code, which leads to the dashboard to set up a new device.
    await signOut(page);
    await page.goto(controlUrl(t.port, '/login'));
    await enterHandle(page, handle);
    await page.getByRole('button', { name: 'Use a recovery code' }).click();
    await page.getByLabel('One of your recovery codes').fill(recoveryCodes[0]!.toUpperCase());
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(controlUrl(t.port, '/dashboard'));
    await page.locator('#notice:not([hidden])').waitFor();
    expect(await page.locator('#notice').textContent()).toContain(
      'You signed in with a recovery code (9 left)',
    );
    await page.locator('#instance-state.running').waitFor();
    expect(await fitsWidth(page)).toBe(true);
  });

  it("lets an admin stop an instance from the admin page; the owner's next visit wakes it", async () => {
    const owner = await person({ passkeys: true });
    await startPasskeySignup(owner, t.port, 'sleepy');
    await saveRecoveryCodes(owner);
    await waitForInstance(owner, 'sleepy', t.port);

    // Not an admin: the admin page says so.
    const refused = await owner.goto(controlUrl(t.port, '/admin'));
    expect(refused?.status()).toBe(403);
    expect(await owner.locator('h1').textContent()).toBe('For administrators only');

    const admin = await person();
    await startTotpSignup(admin, t.port, 'root-ops');
    await saveRecoveryCodes(admin);
    await waitForInstance(admin, 'root-ops', t.port);
    await t.admin('PUT', '/admin/users/root-ops/role', { role: 'admin' });
    await admin.goto(controlUrl(t.port, '/admin'));
    const row = admin.locator('#instances tr[data-handle="sleepy"]');
    await row.locator('.badge.running').waitFor();
    await admin.getByLabel('Search users and instances').fill('slee');
    await expect.poll(() => admin.locator('#instances tbody tr').count()).toBe(1);
    await expect.poll(() => admin.locator('#users tbody tr').count()).toBe(1);

    await row.getByRole('button', { name: 'Stop sleepy' }).click();
    await admin.locator('dialog[open] #confirm-ok').click();
    await row.locator('.badge.stopped').waitFor();
    expect(await stateOf('sleepy')).toBe('stopped');

    // The owner comes back: the router wakes it (with its "waking up" page if that is slow).
    await owner.goto(`${instanceOrigin('sleepy', t.port)}/`);
    await waitForInstance(owner, 'sleepy', t.port);
    expect(await instanceApiStatus(owner)).toEqual({ status: 200, handle: 'sleepy' });
    expect(await stateOf('sleepy')).toBe('running');

    // An admin going to the instance itself is sent through sign-in, already signed in, and let in.
    await admin.goto(`${instanceOrigin('sleepy', t.port)}/`);
    await waitForInstance(admin, 'sleepy', t.port);
    expect(await instanceApiStatus(admin)).toEqual({ status: 200, handle: 'sleepy' });
  });

  it('manages sign-in methods on the dashboard, asks to confirm it is you when the session is not fresh, and never removes the last one', async () => {
    const page = await person({ passkeys: true });
    await startPasskeySignup(page, t.port, 'fay');
    await saveRecoveryCodes(page);
    await waitForInstance(page, 'fay', t.port);
    await page.goto(controlUrl(t.port, '/dashboard'));
    const passkeys = page.locator('#passkeys li');
    await expect.poll(() => passkeys.count()).toBe(1);
    const stepUp = page.locator('dialog#step-up[open]');

    // Signed up a while ago: setting up an app first asks for the passkey, in place, then goes on.
    skew += STEP_UP_TTL_MS + 60_000;
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await stepUp.waitFor();
    expect(await stepUp.locator('h2').textContent()).toBe('Confirm it is you');
    expect(await page.locator('#step-up-label').textContent()).toBe('One of your recovery codes');
    await stepUp.getByRole('button', { name: 'Use your passkey' }).click();
    await stepUp.waitFor({ state: 'detached' });
    const secret = await readTotpSecret(page, 'dash-totp');
    await page.getByLabel('The 6-digit code your app shows').fill(totpCodeAt(secret, platformNow()));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.locator('#totp-msg.ok').waitFor();
    await expect.poll(() => page.locator('#totp-state').textContent()).toBe('On');

    // Fresh now, for a few minutes: the next changes ask nothing more.
    await page.getByRole('button', { name: 'Remove the passkey Passkey' }).click();
    await page.locator('dialog[open] #confirm-ok').click();
    await page.locator('#passkey-msg.ok').waitFor();
    await expect.poll(() => passkeys.textContent()).toBe('No passkeys yet.');

    // The app is now the only way in: removing it is refused, and the page says why.
    await page.getByRole('button', { name: 'Remove', exact: true }).click();
    await page.locator('dialog[open] #confirm-ok').click();
    await page.locator('#totp-msg.error').waitFor();
    expect(await page.locator('#totp-msg').textContent()).toBe(
      'This is your only way to sign in: add a passkey first.',
    );
    expect(await page.locator('#totp-state').textContent()).toBe('On');

    // A new passkey, named.
    await page.getByLabel('Name of the new passkey').fill('Laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.locator('#passkey-msg.ok').waitFor();
    await expect.poll(() => page.locator('#passkeys .name').allTextContents()).toEqual(['Laptop']);

    // Stale again. Cancelling the check changes nothing ...
    skew += STEP_UP_TTL_MS + 60_000;
    await page.getByRole('button', { name: 'Generate new codes' }).click();
    await page.locator('dialog[open] #confirm-ok').click();
    await stepUp.waitFor();
    await stepUp.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('#codes-msg.info').waitFor();
    expect(await page.locator('#codes-msg').textContent()).toBe('Nothing was changed.');
    expect(await page.locator('#codes-block').isHidden()).toBe(true);

    // ... and a code from the app works as the check too: a wrong one is explained first.
    await page.getByRole('button', { name: 'Remove', exact: true }).click();
    await page.locator('dialog[open] #confirm-ok').click();
    await stepUp.waitFor();
    const code = page.getByLabel('A code from your authenticator app, or a recovery code');
    await code.fill(wrongCodeAt(secret, platformNow()));
    await stepUp.getByRole('button', { name: 'Confirm' }).click();
    await stepUp.locator('#step-up-msg.error').waitFor();
    expect(await stepUp.locator('#step-up-msg').textContent()).toBe(
      'That code was not accepted (each code works once).',
    );
    await code.fill(totpCodeAt(secret, platformNow()));
    await stepUp.getByRole('button', { name: 'Confirm' }).click();
    await page.locator('#totp-msg.ok').waitFor();
    await expect.poll(() => page.locator('#totp-state').textContent()).toBe('Off');

    // New recovery codes, shown once (still fresh from that check).
    await page.getByRole('button', { name: 'Generate new codes' }).click();
    await page.locator('dialog[open] #confirm-ok').click();
    await page.locator('#codes-block:not([hidden])').waitFor();
    expect(await page.locator('#dash-codes-list li').count()).toBe(10);
  });
});
