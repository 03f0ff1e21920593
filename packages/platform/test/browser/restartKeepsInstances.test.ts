import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  type ProxyProcess,
  reply,
  startProxyProcess,
  startUpstreamStandIn,
  type UpstreamStandIn,
} from '@matrixos/proxy/testing';
import { freePort, newToken } from '@matrixos/shared';
import { dockerAvailable, launchChromium, type TestBrowser, toolAvailable } from '@matrixos/shared/testing';
import Docker from 'dockerode';
import type { WebSocket as PageSocket } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_HANDLE, LABEL_PLATFORM } from '../../src/runtime/driver.ts';
import { PLATFORM_KEY, startTestPlatform, type TestPlatform } from '../harness.ts';
import { instanceApiStatus, saveRecoveryCodes, startTotpSignup, waitForInstance } from './flows.ts';

const docker = new Docker();

/**
 * Issue 10 §5: the platform and the LLM proxy restart (an upgrade of either) while a user has
 * their instance's shell open in Chromium, on real containers. No container is restarted or
 * re-created (same id, same StartedAt, no restarts), the shell's WebSocket comes back by itself,
 * and the instance answers again: its API, and a chat that goes through the restarted proxy.
 */
describe.skipIf(!toolAvailable('chromium') || !(await dockerAvailable()))(
  'platform and proxy restart without stopping instances (Docker, Chromium)',
  () => {
    let upstream: UpstreamStandIn;
    let proxy: ProxyProcess;
    let t: TestPlatform | undefined;
    let browser: TestBrowser;
    const dataDir = mkdtempSync(path.join(tmpdir(), 'matrixos-restart-'));
    const adminToken = newToken('mxa');
    const platformId = `t${Math.random().toString(36).slice(2, 8)}`;
    let port: number;

    const startPlatform = () =>
      startTestPlatform({
        runtime: 'docker',
        dataDir,
        platformId,
        adminToken,
        port,
        proxyAdminUrl: proxy.url,
        env: { PROXY_PORT: String(proxy.port) },
      });

    beforeAll(async () => {
      upstream = await startUpstreamStandIn({ apiKeys: [PLATFORM_KEY] });
      port = await freePort();
      // Containers reach the proxy on the instance network's gateway address, not on loopback.
      proxy = await startProxyProcess({
        upstreamUrl: upstream.url,
        platformKey: PLATFORM_KEY,
        adminToken,
        host: '0.0.0.0',
      });
      t = await startPlatform();
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
      await t?.destroy();
      await proxy?.close();
      await upstream?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    async function container(handle: string) {
      const [c] = await docker.listContainers({
        all: true,
        filters: { label: [`${LABEL_PLATFORM}=${platformId}`, `${LABEL_HANDLE}=${handle}`] },
      });
      const info = await docker.getContainer(c!.Id).inspect();
      return {
        id: info.Id,
        startedAt: info.State.StartedAt,
        restarts: info.RestartCount,
        running: info.State.Running,
      };
    }

    it('keeps the instance running, and the open shell reconnects and works', async () => {
      const handle = 'stayer';
      const tab = await browser.newPage();
      const sockets: { socket: PageSocket; closed: boolean }[] = [];
      tab.on('websocket', (socket) => {
        const entry = { socket, closed: false };
        sockets.push(entry);
        socket.on('close', () => {
          entry.closed = true;
        });
      });
      await startTotpSignup(tab, port, handle);
      await saveRecoveryCodes(tab);
      await waitForInstance(tab, handle, port);
      // The shell reconnects with a backoff of up to 15 s: if its first tries met the instance still
      // waking, the socket opens a few backoffs later (slower on a loaded CI machine).
      await expect.poll(() => sockets.filter((s) => !s.closed).length, { timeout: 60_000 }).toBe(1);
      const before = await container(handle);
      expect(before).toMatchObject({ running: true, restarts: 0 });

      // The upgrade: the proxy, then the platform, stop and start again on the same data and ports.
      await proxy.stop();
      proxy = await startProxyProcess({
        upstreamUrl: upstream.url,
        platformKey: PLATFORM_KEY,
        adminToken,
        host: '0.0.0.0',
        dir: proxy.dir,
        port: proxy.port,
      });
      await t!.stop();
      const opened = sockets.length;
      // The socket the platform carried is cut when it stops.
      await expect.poll(() => sockets.every((s) => s.closed), { timeout: 10_000 }).toBe(true);
      t = await startPlatform();
      const report = await t.reconciled;
      // Adopted as it was: nothing re-created, started or stopped.
      expect(report).toMatchObject({
        recreated: [],
        started: [],
        stopped: [],
        errors: [],
        removedOrphans: [],
      });
      expect(t.platform.store.get(handle)).toMatchObject({ state: 'running', engineId: before.id });

      // The shell opens a new socket by itself, through the new platform.
      await expect
        .poll(() => sockets.slice(opened).filter((s) => !s.closed).length, { timeout: 35_000 })
        .toBe(1);
      expect(t.platform.router.openSockets()).toBe(1);
      expect(await instanceApiStatus(tab)).toEqual({ status: 200, handle });

      // A chat from the page: its AI calls go through the restarted proxy, with the same key.
      upstream.enqueue(reply('Still here after the upgrade.'));
      const said = await tab.evaluate(
        () =>
          new Promise<string>((resolve, reject) => {
            const ws = new WebSocket(`${location.origin.replace('http', 'ws')}/ws`, ['matrixos']);
            let text = '';
            ws.onmessage = (m) => {
              const e = JSON.parse(String(m.data)) as { type: string; text?: string };
              if (e.type === 'chat.delta') text += e.text ?? '';
              if (e.type === 'chat.done') {
                ws.close();
                resolve(text);
              }
            };
            ws.onopen = () => ws.send(JSON.stringify({ type: 'chat.send', text: 'Are you there?' }));
            ws.onerror = () => reject(new Error('socket failed'));
            setTimeout(() => reject(new Error(`no answer: ${text}`)), 30_000);
          }),
      );
      expect(said).toContain('Still here after the upgrade.');
      expect(upstream.received.at(-1)?.headers['x-api-key']).toBe(PLATFORM_KEY);

      // Never restarted: the same container, started once, at the same moment.
      expect(await container(handle)).toEqual(before);
    }, 240_000);
  },
);
