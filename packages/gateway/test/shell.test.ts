import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { reply, type Script, startUpstreamStandIn, type UpstreamStandIn } from '@matrixos/proxy/testing';
import { launchChromium, type TestBrowser, toolAvailable } from '@matrixos/shared/testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from './harness.ts';

// SCREENSHOTS_DIR=docs/screenshots saves what the test sees (the docs' pictures come from here).
const SHOTS = process.env.SCREENSHOTS_DIR ? resolve(process.env.SCREENSHOTS_DIR) : null;
const TODO_HTML = await readFile(new URL('./fixtures/todo-app.html', import.meta.url), 'utf8');

async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** What the scripted model says to "build me a to-do app": a sentence, a create_app call, then a summary. */
const BUILD: Script = {
  kind: 'message',
  content: [
    { type: 'text', text: "Sure! I'll build you a simple to-do list app." },
    {
      type: 'tool_use',
      name: 'create_app',
      input: { name: 'todo', title: 'To-do', description: 'A to-do list with checkboxes', html: TODO_HTML },
    },
  ],
  // Big enough steps that the whole page streams in about a second.
  deltaSize: 40,
  eventDelayMs: 8,
};
const DONE = reply(
  'Your **To-do** app is ready and open on your desktop. You can:\n\n' +
    '- add tasks with the box at the top\n- tick them off when they are done\n\n' +
    'It is also in your launcher whenever you need it.',
  { deltaSize: 5, eventDelayMs: 8 },
);

describe.skipIf(!toolAvailable('chromium'))('the shell in Chromium', () => {
  let upstream: UpstreamStandIn;
  let gw: TestGateway;
  let browser: TestBrowser;

  beforeAll(async () => {
    upstream = await startUpstreamStandIn();
    gw = await startGateway({
      handle: 'alice',
      anthropicBaseUrl: upstream.url,
      anthropicApiKey: 'sk-ant-test',
    });
    await writeFile(join(gw.home, 'notes.md'), '# Notes\n\n- Saturday: bakery at 10\n');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await upstream?.close();
  });

  it('signs in, chats, and opens the app the AI built in a sandboxed window', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });

    // Not signed in: the sign-in page, never a blank one.
    await page.goto(gw.url);
    await expect.poll(() => page.title()).toBe('Sign in · @alice · Matrix OS');
    await shot(page, 'shell-signin');
    await page.fill('#token', 'mxi_not-the-right-token-000000');
    await page.click('button[type=submit]');
    await page.waitForSelector('#signin-error:not([hidden])');
    expect(await page.textContent('#signin-error')).toBe('That token does not open this instance.');
    problems.length = 0; // the 401 above is logged by Chromium as a failed resource

    await page.fill('#token', gw.token);
    await page.click('button[type=submit]');
    await page.waitForSelector('.launcher-item');
    await page.waitForSelector('.status[data-state="open"]');
    const cookies = await browser.context.cookies(gw.url);
    expect(cookies).toEqual([
      expect.objectContaining({ name: 'mx_session', httpOnly: true, sameSite: 'Lax' }),
    ]);
    expect(cookies[0]!.value).not.toContain(gw.token);
    expect(await page.evaluate(() => document.cookie)).toBe('');

    // Chat: the scripted model streams text, builds an app, then answers.
    upstream.enqueue(BUILD, DONE);
    await page.fill('.composer textarea', 'Build me a to-do app');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.msg.assistant.streaming');
    await page.waitForSelector('.tool[data-tool="create_app"][data-state="ok"]');
    await page.waitForSelector('.msg.assistant:not(.streaming) >> text=It is also in your launcher');
    expect(await page.textContent('.tool[data-tool="create_app"] .tool-text')).toBe('Created app “To-do”');
    expect(await page.textContent('.chat-title')).toBe('Build me a to-do app');

    // The app: in the launcher, and open in a window whose sandboxed iframe renders it.
    await page.waitForSelector('.launcher-item[data-app="todo"]');
    const frameElement = await page.waitForSelector('.window[data-id="app:todo"] iframe');
    expect(await frameElement.getAttribute('sandbox')).toBe('allow-scripts allow-forms');
    const app = page.frameLocator('.window[data-id="app:todo"] iframe');
    await expect.poll(() => app.locator('h1').textContent()).toBe('My to-do list');
    // Its script runs: adding a task works.
    await app.locator('#task').fill('Buy flowers');
    await app.locator('button').click();
    await expect.poll(() => app.locator('li').count()).toBe(4);
    await expect.poll(() => app.locator('#count').textContent()).toBe('3 of 4 left');
    expect(problems).toEqual([]);
    // ...but it has an opaque origin and no network: the owner's API is out of its reach.
    const frame = (await frameElement.contentFrame())!;
    expect(await frame.evaluate(() => window.origin)).toBe('null');
    expect(
      await frame.evaluate(() =>
        fetch('/api/session').then(
          () => 'reached the API',
          () => 'blocked',
        ),
      ),
    ).toBe('blocked');
    expect(
      await frame.evaluate(() =>
        (() => {
          try {
            return String(localStorage.length);
          } catch {
            return 'no storage';
          }
        })(),
      ),
    ).toBe('no storage');
    problems.length = 0; // the CSP's refusal of that fetch, as intended
    await shot(page, 'shell-chat-and-app');

    // The conversation is kept: a reload shows it again from the history.
    await page.reload();
    await page.waitForSelector('.launcher-item[data-app="todo"]');
    await page.click('button[title="Conversations"]');
    await page.click('.history-open');
    await page.waitForSelector('.msg.assistant >> text=It is also in your launcher');

    expect(problems).toEqual([]);
    await page.close();
  });

  it('tells the owner about a new message: a toast, a count on the bell, the inbox', async () => {
    const page = await browser.newPage();
    await page.goto(gw.url);
    await page.waitForSelector('.status[data-state="open"]');
    const notice = 'You have used 80% of your free AI budget: $4.00 of $5.00.';
    const sent = await fetch(`${gw.url}/api/message`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: 'Matrix OS', text: notice }),
    });
    expect(sent.status).toBe(201);
    await page.waitForSelector(`.toast >> text=${notice}`);
    expect(await page.textContent('.inbox-count')).toBe('1');
    await page.click('#inbox-button');
    await page.waitForSelector('.window[data-id="inbox"] .inbox-list li.unread >> text=Matrix OS');
    await shot(page, 'shell-inbox');
    // Seen: after a reload the bell has nothing new to count.
    await page.reload();
    await page.waitForSelector('.status[data-state="open"]');
    expect(await page.isHidden('.inbox-count')).toBe(true);
    await page.close();
  });

  it('browses files and shows settings', async () => {
    const page = await browser.newPage();
    await page.goto(gw.url);
    await page.waitForSelector('.launcher-item');

    await page.click('.launcher-item[title="Files"]');
    await page.waitForSelector('.window[data-id="files"] .file-row[data-name="system"]');
    await page.click('.file-row[data-name="system"]');
    await page.waitForSelector('.file-row[data-name="profile.md"]');
    await page.click('.crumb >> text=Home');
    await page.waitForSelector('.file-row[data-name="notes.md"]');
    await shot(page, 'shell-files');
    await page.click('.file-row[data-name="notes.md"]');
    await page.waitForSelector('.file-view-body pre >> text=Saturday: bakery at 10');
    await page.click('.window[data-id="files"] button[title="Close"]');

    await page.click('.launcher-item[title="Settings"]');
    await page.waitForSelector('.window[data-id="settings"] #model');
    expect(await page.inputValue('#model')).toBe('claude-sonnet-5-5');
    expect(await page.textContent('.settings')).toContain("Using the instance's ANTHROPIC_API_KEY");
    await shot(page, 'shell-settings');

    // The own key goes to the instance once and leaves the form empty.
    await page.fill('#anthropic-key', 'sk-ant-browser-entered-key-4321');
    await page.click('#anthropic-key ~ button[type=submit]');
    await page.waitForSelector('.badge.ok >> text=Your key is set (…4321)');
    expect(await page.inputValue('#anthropic-key')).toBe('');

    // Signing out lands on the sign-in page, and the old cookie opens nothing.
    const [cookie] = await browser.context.cookies(gw.url);
    await page.click('button >> text=Sign out');
    await page.waitForSelector('#signin-form');
    const replay = await fetch(`${gw.url}/api/session`, {
      headers: { cookie: `${cookie!.name}=${cookie!.value}` },
    });
    expect(replay.status).toBe(401);
    await page.close();
  });

  it('works on a phone: chat and desktop as two views', async () => {
    const phone = await browser.context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(gw.url);
    await phone.fill('#token', gw.token);
    await phone.click('button[type=submit]');
    await phone.waitForSelector('.tabbar');
    await phone.click('.tab[data-view="chat"]');
    await phone.click('button[title="Conversations"]');
    await phone.click('.history-open');
    await phone.waitForSelector('.msg.assistant >> text=It is also in your launcher');
    expect(await phone.isVisible('.desktop')).toBe(false);
    await shot(phone, 'shell-phone-chat');
    await phone.click('.tab[data-view="desktop"]');
    await phone.click('.launcher-item[data-app="todo"]');
    const app = phone.frameLocator('.window[data-id="app:todo"] iframe');
    await expect.poll(() => app.locator('h1').textContent()).toBe('My to-do list');
    const box = await phone.locator('.window[data-id="app:todo"]').boundingBox();
    expect(box!.width).toBe(390);
    await phone.close();
  });
});
