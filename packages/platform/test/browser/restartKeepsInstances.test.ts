import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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
import {
  dockerAvailable,
  launchChromium,
  TEST_INSTANCE_IMAGE,
  type TestBrowser,
  toolAvailable,
} from '@matrixos/shared/testing';
import Docker from 'dockerode';
import type { WebSocket as PageSocket } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_HANDLE, LABEL_PLATFORM } from '../../src/runtime/driver.ts';
import { httpRequest, PLATFORM_KEY, spawnPlatform, startTestPlatform } from '../harness.ts';
import { instanceApiStatus, saveRecoveryCodes, startTotpSignup, waitForInstance } from './flows.ts';

const docker = new Docker();

/**
 * Issue 10 §5: the platform process and the LLM proxy process restart (an upgrade of either: a
 * SIGTERM, then the new version on the same data and ports) while a user has their instance's shell
 * open in Chromium, on real containers. No container is restarted or re-created (same id, same
 * StartedAt, no restarts), the shell's WebSocket comes back by itself, and the instance answers
 * again: its API, and a chat whose AI call goes through the restarted proxy.
 */
describe.skipIf(!toolAvailable('chromium') || !(await dockerAvailable()))(
  'platform and proxy restart without stopping instances (Docker, Chromium)',
  () => {
    let upstream: UpstreamStandIn;
    let proxy: ProxyProcess;
    let platform: Awaited<ReturnType<typeof spawnPlatform>> | undefined;
    let browser: TestBrowser;
    const dataDir = mkdtempSync(path.join(tmpdir(), 'matrixos-restart-'));
    const adminToken = newToken('mxa');
    const platformId = `t${randomBytes(4).toString('hex')}`;
    let port: number;
    const label = [`${LABEL_PLATFORM}=${platformId}`];

    const startPlatform = () =>
      spawnPlatform({
        DATA_DIR: dataDir,
        PLATFORM_ID: platformId,
        PLATFORM_ADMIN_TOKEN: adminToken,
        PLATFORM_PORT: String(port),
        PLATFORM_DOMAIN: 'localhost',
        RUNTIME: 'docker',
        INSTANCE_IMAGE: TEST_INSTANCE_IMAGE,
        PROXY_ADMIN_URL: proxy.url,
        PROXY_PORT: String(proxy.port),
      });
    const startProxy = (dir?: string, proxyPort?: number) =>
      // Containers reach the proxy on the instance network's gateway address, not on loopback.
      startProxyProcess({
        upstreamUrl: upstream.url,
        platformKey: PLATFORM_KEY,
        adminToken,
        host: '0.0.0.0',
        dir,
        port: proxyPort,
      });
    /** SIGTERM, as systemd or compose stop it; resolves with its exit code. */
    const terminate = (child: ChildProcess) =>
      new Promise<number | null>((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      });

    beforeAll(async () => {
      upstream = await startUpstreamStandIn({ apiKeys: [PLATFORM_KEY] });
      port = await freePort();
      proxy = await startProxy();
      platform = await startPlatform();
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
      if (platform) await terminate(platform.child);
      // What this test's platform made (containers, volumes and their disks) goes the harness's way.
      const leftover = await startTestPlatform({ runtime: 'docker', dataDir, platformId, adminToken });
      await leftover.destroy();
      await proxy?.close();
      await upstream?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    async function container(handle: string) {
      const [c] = await docker.listContainers({
        all: true,
        filters: { label: [...label, `${LABEL_HANDLE}=${handle}`] },
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
      proxy = await startProxy(proxy.dir, proxy.port);
      const opened = sockets.length;
      // A clean exit (0), not the forced one after 10 s: the open socket does not hold the close.
      expect(await terminate(platform!.child)).toBe(0);
      platform = undefined;
      expect(sockets.every((s) => s.closed)).toBe(true);
      platform = await startPlatform();
      const running = platform;
      await expect
        .poll(() => /"msg":"startup reconcile done"/.test(running.output()), { timeout: 30_000 })
        .toBe(true);
      const line = running
        .output()
        .split('\n')
        .find((l) => l.includes('"msg":"startup reconcile done"'))!;
      // Adopted as it was: nothing re-created, started or stopped.
      expect(JSON.parse(line)).toMatchObject({
        recreated: [],
        started: [],
        stopped: [],
        errors: [],
        removedOrphans: [],
      });
      const info = await httpRequest(port, {
        path: `/containers/${handle}`,
        headers: { authorization: `Bearer ${adminToken}` },
      });
      // On failure, what the platform logged at warn and above says why.
      const problems = running
        .output()
        .split('\n')
        .filter((l) => /"level":(40|50|60)/.test(l))
        .join('\n');
      expect(info.status, problems).toBe(200);
      expect(info.json()).toMatchObject({
        instance: { state: 'running', engineId: before.id, lastError: null },
      });

      // The shell opens a new socket by itself, through the new platform.
      await expect
        .poll(() => sockets.slice(opened).filter((s) => !s.closed).length, { timeout: 35_000 })
        .toBe(1);
      expect(await instanceApiStatus(tab)).toEqual({ status: 200, handle });

      // A chat from the page: its AI call goes through the restarted proxy, with the same key.
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
