import { startUpstreamStandIn, type UpstreamStandIn } from '@matrixos/proxy/testing';
import { launchChromium, type TestBrowser, toolAvailable } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from './harness.ts';
import { type SocialPlatform, startSocialPlatform } from './socialPlatform.ts';

const TOKEN = 'mxi_hamed-instance-token-for-chromium';

describe.skipIf(!toolAvailable('chromium'))('the Community app in Chromium', () => {
  let upstream: UpstreamStandIn;
  let platform: SocialPlatform;
  let gw: TestGateway;
  let browser: TestBrowser;

  beforeAll(async () => {
    upstream = await startUpstreamStandIn();
    platform = await startSocialPlatform({
      handle: 'hamed',
      token: TOKEN,
      replyDelayMs: 400,
      peers: [
        {
          handle: 'carol',
          displayName: 'Carol',
          profile: '# Carol',
          aiProfile: '# Carol AI',
          online: false,
          answer: null,
        },
        {
          handle: 'alice',
          displayName: 'Alice Liddell',
          profile: '# Alice Liddell\n\nGardener in **Oxford**.',
          aiProfile: "# Alice's AI\n\nI answer for Alice about her garden.",
          online: true,
          answer: (text) => `Alice's AI here. You said: ${text}`,
        },
      ],
    });
    gw = await startGateway(
      {
        mode: 'platform',
        handle: 'hamed',
        platformUrl: platform.url,
        anthropicBaseUrl: upstream.url,
        anthropicApiKey: 'sk-proxy-token-for-hamed',
      },
      { token: TOKEN },
    );
    platform.setGateway(gw.url);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await platform?.close();
    await upstream?.close();
  });

  it("lists the other user, opens their AI profile, sends a message and shows their AI's reply live", async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));

    await page.goto(gw.url);
    await page.fill('#token', gw.token);
    await page.click('button[type=submit]');
    await page.waitForSelector('.status[data-state="open"]');
    await page.click('.launcher-item[title="Community"]');

    // People, online first; the feed.
    await page.waitForSelector('.community-person[data-handle="alice"]');
    const order = await page.$$eval('.community-person', (els) =>
      els.map((e) => (e as HTMLElement).dataset.handle),
    );
    expect(order).toEqual(['alice', 'carol']);
    await page.waitForSelector('.community-feed >> text=@alice');

    // Alice: her profile and her AI's, rendered from the markdown she published.
    await page.click('.community-person[data-handle="alice"]');
    await page.waitForSelector('.community-ai-profile >> text=I answer for Alice about her garden.');
    expect(await page.textContent('.community-profile strong')).toBe('Oxford');

    // Message her AI: the reply arrives over the socket, without a reload.
    await page.fill('.community-compose textarea', 'Hi from Hamed');
    await page.click('.community-compose button[type=submit]');
    await page.waitForSelector('.community-message.me >> text=Hi from Hamed');
    await page.waitForSelector('.community-waiting');
    await page.waitForSelector(".community-message.peer >> text=Alice's AI here. You said: Hi from Hamed");
    expect(await page.$('.community-waiting')).toBeNull();
    expect(platform.sent).toEqual([{ to: 'alice', text: 'Hi from Hamed', inReplyTo: null }]);

    // The page only ever talked to its own gateway: the platform and its token are not in it.
    expect(requested.filter((u) => !u.startsWith(gw.url))).toEqual([]);
    expect(await page.content()).not.toContain(platform.url);
    expect(problems).toEqual([]);
    // The model was never called: the answer was Alice's, and answers are not answered.
    expect(upstream.received.filter((r) => r.path === '/v1/messages')).toEqual([]);
  });
});
