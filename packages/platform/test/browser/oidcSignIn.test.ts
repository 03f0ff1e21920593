import { freePort } from '@matrixos/shared';
import { launchChromium, type TestBrowser, toolAvailable } from '@matrixos/shared/testing';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../harness.ts';
import { type LocalProvider, startLocalProvider } from '../oidc/localProvider.ts';
import { controlUrl, instanceApiStatus, pickHandle, waitForInstance } from './flows.ts';

/** Pages answer slowly on a loaded machine: what they show is waited for, not assumed at once. */
const POLL = { timeout: 20_000 };

/**
 * Sign-in with an OpenID provider in real Chromium, through the provider's own pages (a real
 * oidc-provider on loopback): sign up with a handle, land in the new instance, sign in again from
 * another browser straight into it, and find the identity on the dashboard, where the last way
 * to sign in cannot be removed. The attacks are at the API level: ../oidc.test.ts.
 */
describe.skipIf(!toolAvailable('chromium'))('OpenID Connect sign-in in Chromium', () => {
  let t: TestPlatform;
  let local: LocalProvider;
  const browsers: TestBrowser[] = [];

  async function person(): Promise<Page> {
    const browser = await launchChromium();
    browsers.push(browser);
    return browser.newPage();
  }

  /** The provider's development login page, then its consent page. */
  async function signInAtProvider(page: Page, login: string): Promise<void> {
    await page.waitForURL((u) => u.origin === local.issuer);
    await page.getByPlaceholder('Enter any login').fill(login);
    await page.getByPlaceholder('and password').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
  }

  beforeAll(async () => {
    const port = await freePort();
    local = await startLocalProvider({ redirectUris: [`http://localhost:${port}/auth/oidc/local/callback`] });
    t = await startTestPlatform({
      runtime: 'process',
      port,
      env: {
        OIDC_PROVIDERS: JSON.stringify([
          {
            id: 'local',
            name: 'Local ID',
            issuer: local.issuer,
            clientId: local.clientId,
            clientSecret: local.clientSecret,
          },
        ]),
      },
    });
  });
  afterEach(async () => {
    for (const b of browsers.splice(0)) await b.close();
  });
  afterAll(async () => {
    await t?.destroy();
    await local?.close();
  });

  it('signs up through the provider with a handle, signs in again into the instance, and manages the identity on the dashboard', async () => {
    const handle = 'olive';
    const first = await person();
    await first.goto(controlUrl(t.port, '/signup'));
    await first.getByRole('button', { name: 'Continue with Local ID' }).click();
    await signInAtProvider(first, 'olive-at-provider');
    await first.waitForURL(controlUrl(t.port, '/signup/provider'));
    expect(await first.locator('.lead').first().textContent()).toContain('olive-at-provider@people.example');
    await pickHandle(first, handle);
    await first.getByRole('button', { name: 'Create my instance' }).click();
    await first.locator('#step-codes').waitFor();
    expect(await first.locator('#provider-codes-list li').count()).toBe(10);
    await first.getByLabel('I have saved these codes somewhere safe').check();
    await first.getByRole('button', { name: 'Open my instance' }).click();
    await waitForInstance(first, handle, t.port);
    await expect
      .poll(() => instanceApiStatus(first).catch(() => null), POLL)
      .toEqual({ status: 200, handle });

    // Another browser: sign in with the provider, straight into the instance.
    const second = await person();
    await second.goto(controlUrl(t.port, '/login'));
    await second.getByRole('button', { name: 'Continue with Local ID' }).click();
    await signInAtProvider(second, 'olive-at-provider');
    await waitForInstance(second, handle, t.port);
    await expect
      .poll(() => instanceApiStatus(second).catch(() => null), POLL)
      .toEqual({ status: 200, handle });

    // The dashboard lists the identity; as the only way in, it cannot be removed.
    await second.goto(controlUrl(t.port, '/dashboard'));
    const item = second.locator('#identities li[data-identity="local"]');
    await expect
      .poll(() => item.textContent(), POLL)
      .toContain('Local ID (olive-at-provider@people.example)');
    await item.getByRole('button', { name: 'Remove Local ID' }).click();
    await second.getByRole('dialog').getByRole('button', { name: 'Remove Local ID' }).click();
    await expect
      .poll(() => second.locator('#identity-msg').textContent(), POLL)
      .toContain('only way to sign in');
    expect(await second.locator('#identities li[data-identity="local"]').count()).toBe(1);

    // A stranger at the provider has no account here: the sign-in page says so.
    const third = await person();
    await third.goto(controlUrl(t.port, '/login'));
    await third.getByRole('button', { name: 'Continue with Local ID' }).click();
    await signInAtProvider(third, 'someone-else');
    await third.waitForURL(controlUrl(t.port, '/login?oidc_error=no_account'));
    await expect
      .poll(() => third.locator('#oidc-msg').textContent(), POLL)
      .toContain('No account signs in with');
  }, 180_000);
});
