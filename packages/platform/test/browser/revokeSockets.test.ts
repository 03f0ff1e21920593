import { launchChromium, type TestBrowser, toolAvailable } from '@matrixos/shared/testing';
import type { WebSocket as PageSocket } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestPlatform, type TestPlatform } from '../harness.ts';
import { controlUrl, instanceOrigin, saveRecoveryCodes, startTotpSignup, waitForInstance } from './flows.ts';

/**
 * Issue 7 §5: "Sign out everywhere" promises that every open tab of the instance must sign in
 * again. Real Chromium, real gateways (process driver): the instance's tab keeps its WebSocket
 * open; signing out everywhere in another tab closes it within a second, and chat is refused.
 */
describe.skipIf(!toolAvailable('chromium'))('revocation closes open instance sockets (Chromium)', () => {
  let t: TestPlatform;
  let browser: TestBrowser;

  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'process' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.destroy();
  });

  it("closes the other tab's socket within a second of 'sign out everywhere', and chat refuses", async () => {
    const handle = 'tabby';
    const instanceTab = await browser.newPage();
    const sockets: { socket: PageSocket; closedAt?: number }[] = [];
    instanceTab.on('websocket', (socket) => {
      const entry: { socket: PageSocket; closedAt?: number } = { socket };
      sockets.push(entry);
      socket.on('close', () => {
        entry.closedAt = Date.now();
      });
    });
    await startTotpSignup(instanceTab, t.port, handle);
    await saveRecoveryCodes(instanceTab);
    await waitForInstance(instanceTab, handle, t.port);
    // The shell reconnects with a backoff of up to 15 s (shell/lib/socket.js): if its first tries
    // met the instance still waking, the socket opens one backoff later, so wait two of them.
    await expect
      .poll(() => sockets.filter((s) => s.closedAt === undefined).length, { timeout: 30_000 })
      .toBe(1);
    const cookie = (await browser.context.cookies(instanceOrigin(handle, t.port))).find(
      (c) => c.name === 'mx_pass',
    );
    expect(cookie).toBeDefined();

    // The other tab: the dashboard, "Sign out everywhere", confirmed.
    const dashboard = await browser.newPage();
    await dashboard.goto(controlUrl(t.port, '/dashboard'));
    await dashboard.locator('#signout-all').click();
    const revoked = dashboard.waitForResponse((r) => r.url().endsWith('/auth/logout-all'));
    await dashboard.locator('dialog[open] #confirm-ok').click();
    expect((await revoked).status()).toBe(200);
    const revokedAt = Date.now();

    await expect.poll(() => sockets[0]!.closedAt, { timeout: 5000, interval: 20 }).toBeDefined();
    expect(sockets[0]!.closedAt! - revokedAt).toBeLessThan(1000);
    // The shell finds its session gone and goes to sign in; nothing reconnects.
    await instanceTab.waitForURL((u) => u.host === `localhost:${t.port}` && u.pathname === '/login', {
      timeout: 15_000,
    });
    expect(t.platform.router.openSockets()).toBe(0);

    // Chat refuses: the instance cookie the tab held opens no socket any more.
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/ws`, ['matrixos'], {
      headers: {
        host: `${handle}.localhost:${t.port}`,
        origin: instanceOrigin(handle, t.port),
        cookie: `mx_pass=${cookie!.value}`,
      },
    });
    const err = await new Promise<Error>((resolve) => ws.once('error', resolve));
    expect(err.message).toContain('401');
  });
});
