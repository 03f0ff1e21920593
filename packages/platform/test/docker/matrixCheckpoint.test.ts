import { reply, toolCall, type UpstreamStandIn } from '@matrixos/proxy/testing';
import { freePort } from '@matrixos/shared';
import { dockerAvailable, startSynapse, type TestSynapse } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { feedReply } from '../../src/api/contract/social.ts';
import { startTestPlatformWithProxy, type TestPlatform } from '../harness.ts';

interface Inbox {
  messages: { text: string; from: string | null; peer?: { handle: string; direction: string } }[];
}

/**
 * The seeds' multi-tenant checkpoint, over Matrix, on real containers and a real Synapse: hamed
 * and alice sign up; hamed's AI (the stand-in model calling matrix_message) messages @alice_ai;
 * alice's instance, asleep, is woken by the appservice push and answers in its sandbox; the
 * answer reaches hamed's inbox; the feed shows who talked (never what); alice's inbox has both sides.
 */
describe.skipIf(!(await dockerAvailable()))('the checkpoint over Matrix, on Docker', () => {
  let synapse: TestSynapse;
  let upstream: UpstreamStandIn;
  let t: TestPlatform;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const port = await freePort();
    const s = await startSynapse({ appserviceUrl: `http://127.0.0.1:${port}` });
    if (!s) throw new Error('Synapse is needed for this test (scripts/synapse.sh install)');
    synapse = s;
    ({ t, upstream, close } = await startTestPlatformWithProxy({
      runtime: 'docker',
      proxyHost: '0.0.0.0',
      port,
      env: { ...synapse.env, MATRIX_INSTANCE_PORT: '0' },
    }));
  }, 180_000);
  afterAll(async () => {
    await close?.();
    synapse?.destroy();
  });

  const matrixState = async (handle: string) => {
    const r = await t.instance(handle, { path: '/api/system/info' });
    return r.json<{ channels: { name: string; state: string }[] }>().channels.find((c) => c.name === 'matrix')
      ?.state;
  };
  const inbox = async (handle: string) =>
    (await t.instance(handle, { path: '/api/messages?limit=50' })).json<Inbox>().messages;

  it("hamed's AI messages @alice_ai over Matrix; sleeping alice wakes, answers in her sandbox; hamed gets the answer", async () => {
    const hamedToken = await t.provision('hamed');
    await t.provision('alice');
    await expect.poll(() => matrixState('hamed'), { timeout: 30_000 }).toBe('running');
    await expect.poll(() => matrixState('alice'), { timeout: 30_000 }).toBe('running');
    expect((await t.admin('POST', '/containers/alice/stop')).status).toBe(200);
    expect(t.platform.store.get('alice')?.state).toBe('stopped');

    upstream.enqueue(
      toolCall('matrix_message', { handle: 'alice', text: 'Hi Alice! Is Tuesday good for lunch?' }),
      reply('I sent it to Alice over Matrix.'),
      reply('Tuesday works for Alice.'),
    );
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/ws`, {
      headers: { host: `hamed.localhost:${t.port}`, authorization: `Bearer ${hamedToken}` },
    });
    const events: { type: string; text?: string }[] = [];
    ws.on('message', (d) => events.push(JSON.parse(d.toString())));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(
      JSON.stringify({
        type: 'chat.send',
        text: "Ask alice's AI over Matrix whether Tuesday works for lunch",
      }),
    );
    await expect.poll(() => events.some((e) => e.type === 'chat.done'), { timeout: 30_000 }).toBe(true);
    ws.close();

    // Alice's instance was woken by the Matrix message, not by anyone opening it.
    await expect.poll(() => t.platform.store.get('alice')?.state, { timeout: 60_000 }).toBe('running');
    // Hamed's AI receives the answer (in his inbox, from alice's AI).
    await expect
      .poll(async () => (await inbox('hamed')).find((m) => m.text === 'Tuesday works for Alice.'), {
        timeout: 60_000,
      })
      .toMatchObject({ from: "@alice's AI", peer: { handle: 'alice', direction: 'in' } });
    // Alice's inbox shows both sides.
    const aliceSide = await inbox('alice');
    expect(aliceSide).toContainEqual(
      expect.objectContaining({
        text: 'Hi Alice! Is Tuesday good for lunch?',
        peer: { handle: 'hamed', direction: 'in' },
      }),
    );
    expect(aliceSide).toContainEqual(
      expect.objectContaining({
        text: 'Tuesday works for Alice.',
        peer: expect.objectContaining({ handle: 'hamed', direction: 'out' }),
      }),
    );
    // Alice answered in her sandbox: that model call offered no tools.
    const calls = upstream.received.filter((r) => r.path === '/v1/messages');
    expect(calls).toHaveLength(3);
    const sandboxCall = calls[2]?.body as { tools?: unknown[] } | undefined;
    expect(sandboxCall?.tools ?? []).toEqual([]);

    // The feed shows the conversation, without its content.
    const feed = await fetch(`${t.platform.instanceApiUrl()}/instance/v1/social/feed?limit=50`, {
      headers: { authorization: `Bearer ${hamedToken}` },
    });
    const text = await feed.text();
    const parsed = feedReply.parse(JSON.parse(text));
    expect(parsed.events).toContainEqual(
      expect.objectContaining({ kind: 'ai_conversation', handle: 'hamed', with: 'alice' }),
    );
    expect(text).not.toContain('Tuesday');
  }, 240_000);
});
