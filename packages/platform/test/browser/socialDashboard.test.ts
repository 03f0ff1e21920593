import { fileURLToPath } from 'node:url';
import { launchChromium, type TestBrowser, toolAvailable } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOCIAL_DEFAULTS } from '../../src/api/contract/social.ts';
import { startTestPlatform, type TestPlatform } from '../harness.ts';
import { controlUrl, saveRecoveryCodes, startTotpSignup } from './flows.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/socialInstance.ts', import.meta.url));

/**
 * The dashboard's Community card in real Chromium: the owner's social settings and block list,
 * shown from `/me/social` and changed there, as the platform then applies them.
 */
describe.skipIf(!toolAvailable('chromium'))('the Community card of the dashboard', () => {
  let t: TestPlatform;
  let browser: TestBrowser;
  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'process', command: [process.execPath, FIXTURE] });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.destroy();
  });

  it('shows the defaults, saves changed settings, and blocks and unblocks a handle', async () => {
    const page = await browser.newPage();
    await startTotpSignup(page, t.port, 'dana');
    await saveRecoveryCodes(page);
    t.track('dana');
    await page.goto(controlUrl(t.port, '/dashboard'));

    const card = page.locator('section[aria-labelledby="social-title"]');
    const autoReply = card.getByLabel('Let my AI answer other AIs');
    const cap = card.getByLabel('Answers a day at most (they are billed to your AI budget)');
    await expect.poll(() => cap.inputValue()).toBe(String(SOCIAL_DEFAULTS.dailyAutoReplyCap));
    expect(await card.getByLabel('List me in the directory and the feed').isChecked()).toBe(true);
    expect(await autoReply.isChecked()).toBe(SOCIAL_DEFAULTS.autoReply);

    await autoReply.uncheck();
    await cap.fill('5');
    await card.locator('#social-settings button[type=submit]').click();
    await card.locator('#social-msg.ok', { hasText: 'Saved.' }).waitFor();
    expect(t.platform.social.settings('dana')).toMatchObject({ autoReply: false, dailyAutoReplyCap: 5 });

    await card.getByLabel('Block a handle').fill('@Mallory');
    await card.getByRole('button', { name: 'Block', exact: true }).click();
    await card.locator('#social-blocks li[data-blocked="mallory"]').waitFor();
    expect(t.platform.social.settings('dana').blocks).toEqual(['mallory']);

    // A reload shows what was saved, from the platform.
    await page.reload();
    await expect.poll(() => cap.inputValue()).toBe('5');
    expect(await autoReply.isChecked()).toBe(false);
    await card.getByRole('button', { name: 'Unblock mallory' }).click();
    await card.locator('#social-blocks li.muted', { hasText: 'Nobody.' }).waitFor();
    expect(t.platform.social.settings('dana').blocks).toEqual([]);
  });
});
