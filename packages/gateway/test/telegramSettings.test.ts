import { launchChromium, type TestBrowser, toolAvailable } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from './harness.ts';
import { type BotApiStandIn, messageFrom, startBotApiStandIn } from './telegram/botApiStandIn.ts';

const BOT_TOKEN = '123456789:AAHfakeTokenForTheStandIn_0123456789';

describe.skipIf(!toolAvailable('chromium'))('Telegram settings in the shell (Chromium)', () => {
  let tg: BotApiStandIn;
  let gw: TestGateway;
  let browser: TestBrowser;

  beforeAll(async () => {
    tg = await startBotApiStandIn(BOT_TOKEN);
    gw = await startGateway({ handle: 'alice', telegramApiRoot: tg.url });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await tg?.close();
  });

  it('connects a bot, shows the link code until the owner sends it, then shows the owner and unlinks', async () => {
    const page = await browser.newPage();
    await page.goto(gw.url);
    await expect.poll(() => page.title()).toBe('Sign in · @alice · Matrix OS');
    await page.fill('#token', gw.token);
    await page.click('button[type=submit]');
    // The shell's first load on a loaded 2-core CI machine has taken over 30 s.
    await page.waitForSelector('.launcher-item', { timeout: 60_000 });
    const openSettings = async () => {
      await page.click('.launcher-item[title="Settings"]');
      await page.waitForSelector('.window[data-id="settings"] #settings-telegram');
    };
    await openSettings();
    expect(await page.textContent('#settings-telegram ~ .badge')).toBe('Not connected');

    await page.fill('#telegram-token', 'not a token');
    await page.click('#telegram-token ~ button[type=submit]');
    await page.waitForSelector('#settings-telegram ~ .form-error:not([hidden])');
    expect(await page.textContent('#settings-telegram ~ .form-error')).toContain('not valid');

    await page.fill('#telegram-token', BOT_TOKEN);
    await page.click('#telegram-token ~ button[type=submit]');
    const code = (await (await page.waitForSelector('#telegram-code')).textContent())!;
    expect(code).toMatch(/^[A-Z2-9]{8}$/);
    expect(await page.inputValue('#telegram-token')).toBe('');
    expect(await page.textContent('#telegram-state')).toContain('@alice_os_bot');

    await tg.waitFor('getUpdates');
    const from = tg.calls.length;
    tg.push(messageFrom({ id: 4001, first_name: 'Alice' }, { text: code }));
    await tg.waitFor('sendMessage', 1, from);
    await page.click('.window[data-id="settings"] button[title="Close"]');
    await openSettings();
    expect(await (await page.waitForSelector('#telegram-owner')).textContent()).toBe('Linked to Alice');

    await page.click('#telegram-owner ~ button');
    await page.waitForSelector('#telegram-code');
    await page.close();
  }, 120_000);
});
