import { dockerAvailable, launchChromium, type TestBrowser, toolAvailable } from '@matrixos/shared/testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../harness.ts';
import {
  controlUrl,
  enterHandle,
  instanceApiStatus,
  instanceOrigin,
  pickHandle,
  saveRecoveryCodes,
  waitForInstance,
} from './flows.ts';
import { addVirtualAuthenticator } from './virtualAuthenticator.ts';

const chromium = toolAvailable('chromium');
const docker = await dockerAvailable();

/**
 * The whole way in, in real Chromium with a virtual authenticator, against the real Docker
 * engine and the real instance image: landing, sign-up with a passkey, recovery codes, the live
 * progress of the new container, and into `{handle}.localhost`, signed in there. Then out, and
 * back in with the same passkey. (The two tests run in order: the second signs in again.)
 */
describe.skipIf(!chromium || !docker)('signing up with a passkey, against Docker', () => {
  const handle = 'pat';
  let t: TestPlatform;
  let browser: TestBrowser;
  let page: Page;
  let authenticator: Awaited<ReturnType<typeof addVirtualAuthenticator>>;

  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'docker' });
    browser = await launchChromium();
    page = await browser.newPage();
    authenticator = await addVirtualAuthenticator(page);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.destroy();
  });

  it('signs up with a passkey and lands in the new instance, signed in', async () => {
    // Each class the progress list's steps take, as it happens (recorded outside the page).
    const progress: string[] = [];
    await page.exposeFunction('recordProgress', (entry: string) => progress.push(entry));
    await page.addInitScript(() => {
      const record = (window as unknown as { recordProgress(entry: string): void }).recordProgress;
      new MutationObserver((changes) => {
        for (const change of changes) {
          const li = change.target as HTMLElement;
          if (li.parentElement?.id === 'progress-steps' && li.className)
            record(`${li.dataset.step}:${li.className}`);
        }
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ['class'] });
    });

    await page.goto(controlUrl(t.port));
    await expect.poll(() => page.locator('h1').textContent()).toContain('Your own AI operating system');
    await page.getByRole('link', { name: 'Get started' }).first().click();
    await page.waitForURL(controlUrl(t.port, '/signup'));

    expect(await pickHandle(page, 'admin', 'error')).toBe('Handle "admin" is reserved.');
    expect(await pickHandle(page, 'ab', 'error')).toContain('lower-case letters, digits and hyphens');
    expect(await pickHandle(page, handle)).toBe(`${handle}.localhost:${t.port} is yours to take.`);
    await page.getByRole('button', { name: 'Create with a passkey' }).click();

    const codes = await saveRecoveryCodes(page);
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code).toMatch(/^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/);

    await waitForInstance(page, handle, t.port);
    expect(new URL(page.url()).host).toBe(`${handle}.localhost:${t.port}`);
    expect(await page.title()).toContain(handle);
    // The instance's API answers this browser: it holds the instance's own session cookie.
    expect(await instanceApiStatus(page)).toEqual({ status: 200, handle });
    // Steps were shown live while the container came up, and the last one opened it.
    expect(progress.some((p) => p.endsWith(':now') && !p.startsWith('ready'))).toBe(true);
    expect(progress.at(-1)).toBe('ready:now');
    expect((await t.admin('GET', `/containers/${handle}`)).json()).toMatchObject({
      instance: { state: 'running', runtime: 'docker' },
    });
  });

  it('signs out, then signs in again with the same passkey and lands in the instance', async () => {
    await page.goto(controlUrl(t.port, '/dashboard'));
    await page.locator('header [data-signout]').click();
    await page.waitForURL(controlUrl(t.port, '/'));

    // Signing out ended the instance's session too: the router sends the browser to sign in.
    await page.goto(`${instanceOrigin(handle, t.port)}/`);
    await page.waitForURL(controlUrl(t.port, `/login?next=${handle}`));
    expect(await page.getByLabel('Handle', { exact: true }).inputValue()).toBe(handle);
    await enterHandle(page, handle);

    await waitForInstance(page, handle, t.port);
    expect(await instanceApiStatus(page)).toEqual({ status: 200, handle });
    const credentials = (await authenticator.credentials()) as { signCount: number }[];
    expect(credentials).toHaveLength(1);
    expect(credentials[0]!.signCount).toBeGreaterThan(0);
  });
});
