import { INSTANCE_REFRESH_PATH, REVOCATIONS_PATH } from '@matrixos/shared';
import { launchChromium, type TestBrowser, toolAvailable } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from './harness.ts';
import { passCookie, startPlatformGateway } from './pass.ts';

/**
 * The shell in Chromium on an instance behind the platform: the browser holds the pass the
 * platform's bridge set, and whenever the gateway refuses it (signed out, revoked, run out) the
 * shell's reload becomes a trip through the platform's refresh path. No platform runs here: that
 * path is only reached (this gateway answers it 404, as it never redirects to itself).
 */
describe.skipIf(!toolAvailable('chromium'))('the shell in Chromium, in platform mode', () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  beforeAll(async () => {
    gw = await startPlatformGateway({ anthropicBaseUrl: 'http://127.0.0.1:9' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  const refreshUrl = () => `${gw.url}${INSTANCE_REFRESH_PATH}?next=%2F`;

  it('goes through the platform without a pass, runs with one, and goes again once it is revoked', async () => {
    const page = await browser.newPage();
    await page.goto(gw.url);
    expect(page.url()).toBe(refreshUrl());

    const [name, value] = (await passCookie(gw, { sid: 's_chromium' })).split('=') as [string, string];
    await browser.context.addCookies([{ name, value, url: gw.url }]);
    await page.goto(gw.url);
    await expect.poll(() => page.title()).toBe('@ann · Matrix OS');
    await page.waitForSelector('.status[data-state="open"]');

    // The platform ends the session: the socket is closed, the shell finds itself refused and
    // reloads, which sends it through the platform again.
    const revoked = await fetch(gw.url + REVOCATIONS_PATH, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sessions: ['s_chromium'] }),
    });
    expect(await revoked.json()).toEqual({ revoked: 1, closed: 1 });
    await page.waitForURL(refreshUrl(), { timeout: 10_000 });
  });
});
