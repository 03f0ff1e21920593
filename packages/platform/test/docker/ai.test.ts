import { type ProxyProcess, reply, type UpstreamStandIn } from '@matrixos/proxy/testing';
import { dockerAvailable } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PLATFORM_KEY, startTestPlatformWithProxy, type TestPlatform } from '../harness.ts';

/**
 * The whole AI path on real containers: a chat sent over the instance's WebSocket (through the
 * router), the kernel inside the container calling the LLM proxy over the instance network with
 * its own key, the proxy calling the Anthropic stand-in with the platform's key and metering the
 * call, and the create-app tool writing the app into the instance's home.
 */
describe.skipIf(!(await dockerAvailable()))('AI through the LLM proxy, on Docker', () => {
  let upstream: UpstreamStandIn;
  let proxy: ProxyProcess;
  let t: TestPlatform;
  let close: () => Promise<void>;

  beforeAll(async () => {
    // Containers reach the proxy on the instance network's gateway address, not on loopback.
    ({ t, proxy, upstream, close } = await startTestPlatformWithProxy({
      runtime: 'docker',
      proxyHost: '0.0.0.0',
    }));
  });
  afterAll(() => close?.());

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
      expect(r.headers['x-api-key']).toBe(PLATFORM_KEY);
      expect(JSON.stringify(r.headers)).not.toContain('mxp_');
    }
    const usage = await fetch(`${proxy.url}/usage/alice`, {
      headers: { authorization: `Bearer ${t.adminToken}` },
    });
    const body = (await usage.json()) as { total: { spent: number }; byModel: { requests: number }[] };
    expect(body.byModel[0]?.requests).toBe(2);
    expect(body.total.spent).toBeGreaterThan(0);
  });
});
