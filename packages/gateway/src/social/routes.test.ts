import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { reply, startUpstreamStandIn, toolCall, type UpstreamStandIn } from '@matrixos/proxy/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../../test/harness.ts';
import { type SocialPlatform, startSocialPlatform } from '../../test/socialPlatform.ts';
import { connectSocket, type TestSocket } from '../../test/socket.ts';

const TOKEN = 'mxi_hamed-instance-token-0123456789';
const ALICE = {
  handle: 'alice',
  displayName: 'Alice Liddell',
  profile: '# Alice Liddell\n\nGardener.',
  aiProfile: "# Alice's AI\n\nI answer for Alice.",
  online: true,
  answer: (text: string) => `Alice's AI got: ${text}`,
};

let upstream: UpstreamStandIn;
let platform: SocialPlatform;
let gw: TestGateway;
let socket: TestSocket;

const until = async (check: () => boolean | Promise<boolean>, what: string) => {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
};

beforeAll(async () => {
  upstream = await startUpstreamStandIn();
});
afterAll(() => upstream.close());
beforeEach(async () => {
  upstream.reset();
  platform = await startSocialPlatform({ handle: 'hamed', token: TOKEN, peers: [ALICE], replyDelayMs: 50 });
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
  socket = await connectSocket(gw);
  await socket.next('ready');
});
afterEach(async () => {
  socket.close();
  await gw.close();
  await platform.close();
});

const post = (path: string, body: unknown) =>
  gw.api(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('social in the instance', () => {
  it('publishes the profiles on boot, then only what changed when a profile file changes', async () => {
    await until(() => platform.published.length === 1, 'the boot publish');
    const [boot] = platform.published;
    expect(Object.keys(boot!).sort()).toEqual(['aiProfile', 'avatar', 'displayName', 'profile']);
    expect(boot!.profile).toBe(await readFile(join(gw.home, 'system/profile.md'), 'utf8'));

    const put = await gw.api('/files/system/ai-profile.md', {
      method: 'PUT',
      body: '# Hamed AI\n\nI like tea.',
    });
    expect(put.ok).toBe(true);
    await until(() => platform.published.length === 2, 'the publish after the change');
    expect(platform.published[1]).toEqual({ aiProfile: '# Hamed AI\n\nI like tea.' });
  });

  it('lists people and their profiles through the platform; bad handles are 400, unknown ones 404', async () => {
    const users = await (await gw.api('/api/social/users')).json();
    expect(users.users.map((u: { handle: string }) => u.handle)).toEqual(['alice']);
    const ai = await (await gw.api('/api/social/profiles/alice/ai')).json();
    expect(ai.markdown).toBe(ALICE.aiProfile);
    expect((await gw.api('/api/social/feed')).status).toBe(200);
    const bad = await gw.api('/api/social/profiles/Not_A_Handle');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('invalid_handle');
    const unknown = await gw.api('/api/social/profiles/nobody');
    expect(unknown.status).toBe(404);
    expect((await gw.api('/api/social/users?limit=0')).status).toBe(400);
  });

  it("sends the owner's message and shows the answer live; both sides in the inbox", async () => {
    const sent = await post('/api/social/send/alice', { text: 'Hello Alice', from: 'mallory' });
    expect(sent.status).toBe(400); // strict: a from in the owner's body is refused, not passed on
    const ok = await post('/api/social/send/alice', { text: 'Hello Alice' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: 'delivered', to: 'alice' });
    const live = await socket.next('social.message', (e) => (e.item as { from: string }).from === 'peer');
    expect(live).toMatchObject({ peer: 'alice', item: { text: "Alice's AI got: Hello Alice" } });

    const conversation = await (await gw.api('/api/social/conversations/alice')).json();
    expect(conversation.items.map((i: { from: string; text: string }) => [i.from, i.text])).toEqual([
      ['me', 'Hello Alice'],
      ['peer', "Alice's AI got: Hello Alice"],
    ]);
    const inbox = await (await gw.api('/api/messages')).json();
    expect(inbox.messages.map((m: { peer: { direction: string } }) => m.peer.direction)).toEqual([
      'out',
      'in',
    ]);
    // The answer was an answer: never answered again (no model call, nothing sent back).
    expect(upstream.received).toHaveLength(0);
    expect(platform.sent).toHaveLength(1);
    expect((await post('/api/social/send/alice', { text: 'x'.repeat(4001) })).status).toBe(400);
  });

  it("answers a peer's first message in the sandbox and sends the answer back in reply to it", async () => {
    upstream.enqueue(reply('Hi Alice, Hamed is out today.'));
    await platform.deliver('alice', 'Is Hamed free for lunch?');
    expect(platform.deliveries.at(-1)!.status).toBe(201);
    await until(() => platform.sent.length === 1, 'the auto-reply');
    expect(platform.sent[0]).toMatchObject({
      to: 'alice',
      text: 'Hi Alice, Hamed is out today.',
      inReplyTo: platform.deliveries[0]!.delivery.id,
    });
    const body = upstream.received[0]!.body as { tools?: unknown; system: string };
    expect(body.tools).toBeUndefined();
    expect(body.system).toContain(ALICE.profile);

    // Turned off by the owner (kept by the platform, which says so in each delivery): not answered.
    const off = await gw.api('/api/social/settings', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ autoReply: false }),
    });
    expect((await off.json()).autoReply).toBe(false);
    await platform.deliver('alice', 'Hello?');
    await socket.next('social.unanswered');
    expect(platform.sent).toHaveLength(1);
    expect(upstream.received).toHaveLength(1);
    // Blocking goes to the platform, which refuses that sender from then on.
    const blocked = await gw.api('/api/social/blocks/alice', { method: 'PUT' });
    expect((await blocked.json()).blocks).toEqual(['alice']);
  });

  it('refuses bad deliveries with 4xx and keeps nothing of them', async () => {
    const good = {
      id: 'smsg_0123456789abcdefghijk',
      from: 'alice',
      fromDisplayName: 'Alice',
      to: 'hamed',
      text: 'hi',
      sentAt: new Date().toISOString(),
      inReplyTo: null,
      recipient: { autoReply: false, dailyAutoReplyCap: 20 },
    };
    const cases: [unknown, number][] = [
      [{ ...good, to: 'bob' }, 409],
      [{ ...good, from: '../etc' }, 400],
      [{ ...good, text: 'x'.repeat(4001) }, 400],
      [{ text: 'hi' }, 400],
    ];
    for (const [body, status] of cases)
      expect((await post('/api/social/messages', body)).status).toBe(status);
    const big = await post('/api/social/messages', { ...good, text: 'x'.repeat(20_000) });
    expect(big.status).toBe(413);
    expect((await (await gw.api('/api/messages')).json()).messages).toEqual([]);
    // Without the instance token: 401, like every owner route.
    const anonymous = await fetch(`${gw.url}/api/social/messages`, {
      method: 'POST',
      body: JSON.stringify(good),
    });
    expect(anonymous.status).toBe(401);
  });

  it('gives the kernel message_ai, so the owner can ask for it in chat', async () => {
    upstream.enqueue(toolCall('message_ai', { handle: 'alice', text: 'Hamed says hi' }), reply('Sent.'));
    socket.send({ type: 'chat.send', text: "Tell Alice's AI I say hi", requestId: 'r1' });
    const started = await socket.next('chat.started');
    const result = await socket.next('chat.tool_result', (e) => e.turnId === started.turnId);
    expect(result).toMatchObject({ name: 'message_ai', ok: true });
    await socket.next('chat.done', (e) => e.turnId === started.turnId);
    const tools = (
      upstream.received.find((r) => r.path === '/v1/messages')!.body as { tools: { name: string }[] }
    ).tools.map((t) => t.name);
    expect(tools).toContain('message_ai');
    expect(platform.sent[0]).toMatchObject({ to: 'alice', text: 'Hamed says hi' });
    await socket.next('social.message', (e) => (e.item as { from: string }).from === 'peer');
  });
});

it('has no social routes to the platform in single-user mode (409), and no message_ai', async () => {
  const single = await startGateway({ anthropicBaseUrl: 'http://127.0.0.1:9' });
  try {
    const r = await single.api('/api/social/users');
    expect(r.status).toBe(409);
    expect((await r.json()).error.code).toBe('no_platform');
    expect(single.gateway.profiles).toBeNull();
  } finally {
    await single.close();
  }
});
