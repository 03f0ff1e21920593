import { reply, startUpstreamStandIn, toolCall, type UpstreamStandIn } from '@matrixos/proxy/testing';
import { startSynapse, type TestSynapse } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../../../test/harness.ts';
import { deliver } from '../deliver.ts';
import { MATRIX_TEXT } from './matrix.ts';

const KEY = 'sk-ant-owner-key-for-tests';

async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

interface Account {
  userId: string;
  accessToken: string;
  deviceId: string;
}

/**
 * The gateway's Matrix channel against a real Synapse and the Anthropic stand-in: the owner's DM
 * is a full chat with their AI; a stranger gets nothing; another user's AI is answered in the
 * sandbox, and the answer comes back to the AI that asked, which never answers it again.
 */
describe('the Matrix channel', () => {
  let synapse: TestSynapse;
  let upstreamA: UpstreamStandIn;
  let upstreamH: UpstreamStandIn;
  const accounts: Record<string, Account> = {};
  let alice: TestGateway;
  let hamed: TestGateway;

  const settingsFor = (handle: string) => ({
    homeserverUrl: synapse.url,
    userId: accounts[`${handle}_ai`]?.userId ?? '',
    accessToken: accounts[`${handle}_ai`]?.accessToken ?? '',
    deviceId: accounts[`${handle}_ai`]?.deviceId,
    ownerId: accounts[handle]?.userId ?? '',
  });

  /** The texts in a room as `who` sees them, oldest first. */
  async function texts(roomId: string, who: Account): Promise<{ sender: string; body: string }[]> {
    const r = await synapse.call(
      'GET',
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=50`,
      undefined,
      who.accessToken,
    );
    const chunk =
      (r.body.chunk as { type: string; sender: string; content: { body?: string } }[] | undefined) ?? [];
    return chunk
      .filter((e) => e.type === 'm.room.message')
      .map((e) => ({ sender: e.sender, body: e.content.body ?? '' }))
      .reverse();
  }

  beforeAll(async () => {
    const s = await startSynapse();
    if (!s) throw new Error('Synapse is needed for these tests (scripts/synapse.sh install)');
    synapse = s;
    for (const name of ['alice', 'alice_ai', 'hamed', 'hamed_ai', 'mallory'])
      accounts[name] = await synapse.register(name);
    upstreamA = await startUpstreamStandIn();
    upstreamH = await startUpstreamStandIn();
    alice = await startGateway({
      handle: 'alice',
      anthropicBaseUrl: upstreamA.url,
      anthropicApiKey: KEY,
      matrix: settingsFor('alice'),
    });
    hamed = await startGateway({
      handle: 'hamed',
      anthropicBaseUrl: upstreamH.url,
      anthropicApiKey: KEY,
      matrix: settingsFor('hamed'),
    });
    await until('both syncing', () =>
      [alice, hamed].every(
        (g) => g.gateway.channels.list().find((c) => c.name === 'matrix')?.state === 'running',
      ),
    );
  }, 180_000);
  afterAll(async () => {
    await alice?.close();
    await hamed?.close();
    await upstreamA?.close();
    await upstreamH?.close();
    synapse?.destroy();
  });

  it('says it is running in /api/system/info', async () => {
    const info = (await (await alice.api('/api/system/info')).json()) as {
      channels: { name: string; state: string }[];
    };
    expect(info.channels).toContainEqual(
      expect.objectContaining({ name: 'matrix', state: 'running', linked: true }),
    );
  });

  it("is a full chat with the owner's AI in the owner's DM", async () => {
    upstreamA.enqueue(reply('Hello Alice, your AI here.'));
    const owner = accounts.alice as Account;
    const room = await synapse.call(
      'POST',
      '/_matrix/client/v3/createRoom',
      { is_direct: true, invite: [accounts.alice_ai?.userId], preset: 'trusted_private_chat' },
      owner.accessToken,
    );
    const roomId = String(room.body.room_id);
    const joined = async () => {
      const r = await synapse.call(
        'GET',
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/joined_members`,
        undefined,
        owner.accessToken,
      );
      const members = (r.body.joined ?? {}) as Record<string, unknown>;
      return accounts.alice_ai?.userId ? accounts.alice_ai.userId in members : false;
    };
    await until('the AI joined', joined);
    await synapse.call(
      'PUT',
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/o1`,
      { msgtype: 'm.text', body: 'Hi, who are you?' },
      owner.accessToken,
    );
    const answered = await until('the answer', async () =>
      (await texts(roomId, owner)).find((m) => m.sender === accounts.alice_ai?.userId),
    );
    expect(answered.body).toBe('Hello Alice, your AI here.');
    // The full chat: the kernel's request carried the tools (the sandbox's carries none).
    const sent = upstreamA.received.filter((r) => r.path === '/v1/messages').at(-1)?.body as {
      tools?: unknown[];
      messages: unknown[];
    };
    expect(sent.tools?.length).toBeGreaterThan(0);
    expect(JSON.stringify(sent.messages)).toContain('Hi, who are you?');
  });

  it('turns a stranger away without the AI', async () => {
    const before = upstreamA.received.length;
    const stranger = accounts.mallory as Account;
    const room = await synapse.call(
      'POST',
      '/_matrix/client/v3/createRoom',
      { is_direct: true, invite: [accounts.alice_ai?.userId] },
      stranger.accessToken,
    );
    const roomId = String(room.body.room_id);
    // Declined: the AI leaves (rejects) the invite.
    await until('the invite declined', async () => {
      const m = await synapse.call(
        'GET',
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.member/${encodeURIComponent(accounts.alice_ai?.userId ?? '')}`,
        undefined,
        stranger.accessToken,
      );
      return m.body.membership === 'leave';
    });
    expect(upstreamA.received.length).toBe(before);
    expect(MATRIX_TEXT.stranger).toMatch(/private assistant/);
  });

  it("carries hamed's AI's message to @alice_ai, answered in alice's sandbox, the answer back to hamed's inbox, never answered again", async () => {
    // Hamed asks his AI (the stand-in model calls matrix_message), alice's AI answers in its sandbox.
    upstreamH.enqueue(
      toolCall('matrix_message', { handle: 'alice', text: 'Hi Alice! Is Tuesday good for lunch?' }),
      reply('Sent it to Alice.'),
    );
    upstreamA.enqueue(reply('Tuesday works for Alice.'));
    const aliceCalls = upstreamA.received.length;
    const hamedCalls = upstreamH.received.length;
    const told = await deliver(hamed.gateway, {
      text: "Ask alice's AI over Matrix whether Tuesday works for lunch",
    });
    expect(told.text).toContain('Sent it to Alice.');
    const inbox = async (g: TestGateway) =>
      (
        (await (await g.api('/api/messages?limit=50')).json()) as {
          messages: { text: string; from: string | null }[];
        }
      ).messages;
    const answer = await until("the answer in hamed's inbox", async () =>
      (await inbox(hamed)).find((m) => m.text === 'Tuesday works for Alice.'),
    );
    expect(answer.from).toBe("@alice's AI");
    // Alice's inbox shows both sides.
    const aliceInbox = (await inbox(alice)).map((m) => m.text);
    expect(aliceInbox).toEqual(
      expect.arrayContaining(['Hi Alice! Is Tuesday good for lunch?', 'Tuesday works for Alice.']),
    );
    // The sandbox: alice's model call had no tools.
    const sandboxCall = upstreamA.received.filter((r) => r.path === '/v1/messages').at(-1)?.body as {
      tools?: unknown[];
    };
    expect(sandboxCall.tools ?? []).toEqual([]);
    // Nobody answered the answer: one model call on alice's side, two (tool call, then text) on hamed's.
    await new Promise((r) => setTimeout(r, 1500));
    expect(upstreamA.received.length - aliceCalls).toBe(1);
    expect(upstreamH.received.length - hamedCalls).toBe(2);
  });
});
