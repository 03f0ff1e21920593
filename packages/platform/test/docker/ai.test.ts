import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { reply, startUpstreamStandIn, type UpstreamStandIn } from '@matrixos/proxy/testing';
import { newToken } from '@matrixos/shared';
import { dockerAvailable } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort, httpRequest, startTestPlatform, type TestPlatform } from '../harness.ts';

const PROXY_MAIN = fileURLToPath(new URL('../../../proxy/src/main.ts', import.meta.url));

/**
 * The whole AI path on real containers: a chat sent over the instance's WebSocket (through the
 * router), the kernel inside the container calling the LLM proxy over the instance network with
 * its own key, the proxy calling the Anthropic stand-in with the platform's key and metering the
 * call, and the create-app tool writing the app into the instance's home.
 */
describe.skipIf(!(await dockerAvailable()))('AI through the LLM proxy, on Docker', () => {
  let upstream: UpstreamStandIn;
  let proxy: ChildProcess;
  let proxyPort: number;
  let proxyDir: string;
  let t: TestPlatform;
  const adminToken = newToken('mxa');

  beforeAll(async () => {
    upstream = await startUpstreamStandIn({ apiKeys: ['sk-platform-key'] });
    proxyDir = mkdtempSync(path.join(tmpdir(), 'matrixos-proxy-'));
    proxyPort = await freePort();
    proxy = spawn(process.execPath, [PROXY_MAIN], {
      env: {
        ...process.env,
        PROXY_PORT: String(proxyPort),
        // Containers reach it on the instance network's gateway address, not on loopback.
        PROXY_HOST: '0.0.0.0',
        DATA_DIR: proxyDir,
        PLATFORM_ADMIN_TOKEN: adminToken,
        ANTHROPIC_API_KEY: 'sk-platform-key',
        ANTHROPIC_UPSTREAM_URL: upstream.url,
        LOG_LEVEL: 'silent',
      },
      stdio: 'ignore',
    });
    for (let i = 0; ; i++) {
      if ((await httpRequest(proxyPort, { path: '/health' }).catch(() => null))?.status === 200) break;
      if (i > 200) throw new Error('the proxy did not start');
      await sleep(50);
    }
    t = await startTestPlatform({
      runtime: 'docker',
      adminToken,
      proxyAdminUrl: `http://127.0.0.1:${proxyPort}`,
      env: { PROXY_PORT: String(proxyPort) },
    });
  });
  afterAll(async () => {
    proxy?.kill('SIGTERM');
    await t?.destroy();
    await upstream?.close();
    if (proxyDir) rmSync(proxyDir, { recursive: true, force: true });
  });

  it('chats, builds an app with a tool, and bills the instance for it', async () => {
    const token = await t.provision('alice');
    upstream.enqueue(
      {
        kind: 'message',
        content: [
          { type: 'text', text: 'Building it.' },
          {
            type: 'tool_use',
            name: 'create_app',
            input: {
              name: 'hello',
              title: 'Hello',
              description: 'A greeting',
              html: '<h1>Hello from the AI</h1>',
            },
          },
        ],
        usage: { input_tokens: 1200, output_tokens: 80 },
      },
      reply('Your Hello app is on your desktop.', { usage: { input_tokens: 1400, output_tokens: 20 } }),
    );
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/ws`, {
      headers: { host: `alice.localhost:${t.port}`, authorization: `Bearer ${token}` },
    });
    const events: { type: string; stopReason?: string; text?: string }[] = [];
    ws.on('message', (d) => events.push(JSON.parse(d.toString())));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'chat.send', text: 'Build me a hello app' }));
    await expect
      .poll(() => events.find((e) => e.type === 'chat.done'), { timeout: 30_000 })
      .toMatchObject({ stopReason: 'end_turn' });
    ws.close();
    const said = events
      .filter((e) => e.type === 'chat.delta')
      .map((e) => e.text)
      .join('');
    expect(said).toContain('Your Hello app is on your desktop.');

    // The app is in the home, served by the instance.
    const app = await t.instance('alice', { path: '/apps/hello/' });
    expect(app.status).toBe(200);
    expect(app.text).toContain('Hello from the AI');

    // Upstream saw the platform's key, never the instance's; the proxy billed alice.
    expect(upstream.received).toHaveLength(2);
    for (const r of upstream.received) {
      expect(r.headers['x-api-key']).toBe('sk-platform-key');
      expect(JSON.stringify(r.headers)).not.toContain('mxp_');
    }
    const usage = await fetch(`http://127.0.0.1:${proxyPort}/usage/alice`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const body = (await usage.json()) as { total: { spent: number }; byModel: { requests: number }[] };
    expect(body.byModel[0]?.requests).toBe(2);
    expect(body.total.spent).toBeGreaterThan(0);
  });
});
