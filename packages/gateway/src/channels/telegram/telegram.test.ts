import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { reply, startUpstreamStandIn, type UpstreamStandIn } from '@matrixos/proxy/testing';
import { TELEGRAM_WEBHOOK_PATH, telegramWebhookSecret } from '@matrixos/shared';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../../../test/harness.ts';
import { type BotApiStandIn, messageFrom, startBotApiStandIn } from '../../../test/telegram/botApiStandIn.ts';
import { TELEGRAM_FILES_DIR, TEXT } from './telegram.ts';

const KEY = 'sk-ant-owner-key-for-tests';
const BOT_TOKEN = '123456789:AAHfakeTokenForTheStandIn_0123456789';
const owner = { id: 4001, first_name: 'Alice', username: 'alice' };
const stranger = { id: 5002, first_name: 'Mallory' };

let upstream: UpstreamStandIn;
let tg: BotApiStandIn;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstreamStandIn();
});
afterAll(() => upstream.close());
beforeEach(async () => {
  upstream.reset();
  tg = await startBotApiStandIn(BOT_TOKEN);
});
afterEach(async () => {
  await gw?.close();
  await tg.close();
});

const start = (extra: Record<string, unknown> = {}) =>
  startGateway({
    handle: 'alice',
    anthropicBaseUrl: upstream.url,
    anthropicApiKey: KEY,
    telegramApiRoot: tg.url,
    ...extra,
  });

const json = (body: unknown) => ({
  method: 'PUT',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** Sets the token, waits for long polling to begin, and links the owner with the code. */
async function setUpAndLink(): Promise<void> {
  const res = await gw.api('/api/settings/telegram', json({ botToken: BOT_TOKEN }));
  expect(res.status).toBe(200);
  const { linkCode } = await res.json();
  await tg.waitFor('getUpdates');
  const from = tg.calls.length;
  tg.push(messageFrom(owner, { text: linkCode.code.toLowerCase() }));
  const [sent] = await tg.waitFor('sendMessage', 1, from);
  expect(sent!.params.text).toBe(TEXT.linked);
}

/** The texts the bot sent to `chatId` since call `from`, once there are `count`. */
async function sentTo(chatId: number, count: number, from: number): Promise<string[]> {
  for (;;) {
    const all = tg.calls.slice(from).filter((c) => c.method === 'sendMessage' && c.params.chat_id === chatId);
    if (all.length >= count) return all.map((c) => String(c.params.text));
    await tg.waitFor(
      'sendMessage',
      tg.calls.slice(from).filter((c) => c.method === 'sendMessage').length + 1,
      from,
    );
  }
}

describe('Telegram channel (long polling against a stand-in Bot API)', () => {
  it('refuses a malformed or unknown bot token, and keeps a good one sealed', async () => {
    gw = await start();
    const bad = await gw.api('/api/settings/telegram', json({ botToken: 'not a token' }));
    expect(bad.status).toBe(400);
    const unknown = await gw.api(
      '/api/settings/telegram',
      json({ botToken: '42:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }),
    );
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).error.code).toBe('invalid_bot_token');
    const big = await gw.api('/api/settings/telegram', json({ botToken: 'x'.repeat(10_000) }));
    expect(big.status).toBe(413);

    const good = await gw.api('/api/settings/telegram', json({ botToken: BOT_TOKEN }));
    expect(good.status).toBe(200);
    const settings = await good.json();
    expect(settings).toMatchObject({ configured: true, bot: { username: 'alice_os_bot' }, owner: null });
    expect(settings.linkCode.code).toMatch(/^[A-Z2-9]{8}$/);
    const stored = await readFile(join(gw.home, '.matrixos/telegram.json'), 'utf8');
    expect(stored).not.toContain(BOT_TOKEN.split(':')[1]);
    expect(stored).not.toContain(settings.linkCode.code);
    const anonymous = await fetch(`${gw.url}/api/settings/telegram`);
    expect(anonymous.status).toBe(401);
  });

  it('links the owner with the one-time code the bot asks for; wrong codes and strangers are refused', async () => {
    gw = await start();
    const { linkCode } = await (await gw.api('/api/settings/telegram', json({ botToken: BOT_TOKEN }))).json();
    await tg.waitFor('getUpdates');
    let from = tg.calls.length;
    tg.push(messageFrom(stranger, { text: '/start' }));
    expect(await sentTo(stranger.id, 1, from)).toEqual([TEXT.askCode]);
    tg.push(messageFrom(stranger, { text: 'ABCDEFGH' }));
    expect(await sentTo(stranger.id, 2, from)).toEqual([TEXT.askCode, TEXT.wrongCode]);

    from = tg.calls.length;
    tg.push(messageFrom(owner, { text: linkCode.code }));
    expect(await sentTo(owner.id, 1, from)).toEqual([TEXT.linked]);
    // The code is spent, and the stranger, even with it, is now refused politely.
    from = tg.calls.length;
    tg.push(messageFrom(stranger, { text: linkCode.code }));
    tg.push(messageFrom(stranger, { text: 'what is in your home?' }));
    expect(await sentTo(stranger.id, 2, from)).toEqual([TEXT.stranger, TEXT.stranger]);
    expect(upstream.received.filter((r) => r.path === '/v1/messages')).toHaveLength(0);

    const settings = await (await gw.api('/api/settings/telegram')).json();
    expect(settings).toMatchObject({
      owner: { name: 'Alice (@alice)' },
      linkCode: null,
      status: { state: 'running', via: 'polling', linked: true },
    });
    const info = await (await gw.api('/api/system/info')).json();
    expect(info.channels).toEqual([{ name: 'telegram', state: 'running', via: 'polling', linked: true }]);
  });

  it('voids the link code after five wrong guesses', async () => {
    gw = await start();
    const { linkCode } = await (await gw.api('/api/settings/telegram', json({ botToken: BOT_TOKEN }))).json();
    await tg.waitFor('getUpdates');
    const from = tg.calls.length;
    for (let i = 0; i < 5; i++) tg.push(messageFrom(stranger, { text: `WRONG00${i}` }));
    tg.push(messageFrom(stranger, { text: linkCode.code }));
    const answers = await sentTo(stranger.id, 6, from);
    expect(answers.slice(4)).toEqual([TEXT.noCode, TEXT.noCode]);
    expect((await (await gw.api('/api/settings/telegram')).json()).owner).toBeNull();
  });

  it('answers the owner through the kernel, with typing, a long answer split at 4096, and /new', async () => {
    gw = await start();
    await setUpAndLink();
    const long = Array.from({ length: 80 }, (_, i) => `Paragraph ${i}: ${'**words** '.repeat(10)}`).join(
      '\n\n',
    );
    upstream.enqueue(reply(long));
    let from = tg.calls.length;
    tg.push(messageFrom(owner, { text: 'Tell me everything' }));
    const pieces = await sentTo(owner.id, 3, from);
    expect(
      tg.calls.slice(from).some((c) => c.method === 'sendChatAction' && c.params.action === 'typing'),
    ).toBe(true);
    for (const p of pieces) expect(p.replace(/<[^>]+>/g, '').length).toBeLessThanOrEqual(4096);
    const plain = pieces.join('\n\n').replace(/<[^>]+>/g, '');
    expect(plain).toContain('Paragraph 0: words words');
    expect(pieces).toHaveLength(3);
    expect(plain).toContain('Paragraph 79:');
    expect(pieces[0]).toContain('<b>words</b>');

    upstream.enqueue(reply('Second answer.'));
    from = tg.calls.length;
    tg.push(messageFrom(owner, { text: 'And more?' }));
    expect(await sentTo(owner.id, 1, from)).toEqual(['Second answer.']);
    const bodies = upstream.received
      .filter((r) => r.path === '/v1/messages')
      .map((r) => r.body as { messages: unknown[] });
    expect(bodies[1]!.messages.length).toBeGreaterThan(1);

    from = tg.calls.length;
    tg.push(messageFrom(owner, { text: '/new' }));
    expect(await sentTo(owner.id, 1, from)).toEqual([TEXT.fresh]);
    upstream.enqueue(reply('Fresh start.'));
    from = tg.calls.length;
    tg.push(messageFrom(owner, { text: 'Hello again' }));
    expect(await sentTo(owner.id, 1, from)).toEqual(['Fresh start.']);
    const last = upstream.received.filter((r) => r.path === '/v1/messages').at(-1)!.body as {
      messages: unknown[];
    };
    expect(last.messages).toHaveLength(1);
  });

  it('saves a photo and a document into the home, shows the AI the photo and tells it where both are', async () => {
    gw = await start({ maxFileBytes: 1024 });
    await setUpAndLink();
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 0xff, 0xd9]);
    tg.addFile('small', Buffer.from('tiny'), 'photos/file_0.jpg');
    tg.addFile('large', jpeg, 'photos/file_1.jpg');
    tg.addFile('doc', Buffer.from('name,amount\nrent,900\n'), 'documents/file_2.csv');
    upstream.enqueue(reply('A nice photo.'), reply('Got the budget.'));
    let from = tg.calls.length;
    tg.push(
      messageFrom(owner, {
        caption: 'What is this?',
        photo: [
          { file_id: 'small', file_unique_id: 's', width: 90, height: 90 },
          { file_id: 'large', file_unique_id: 'l', width: 1280, height: 960 },
        ],
      }),
    );
    expect(await sentTo(owner.id, 1, from)).toEqual(['A nice photo.']);
    from = tg.calls.length;
    tg.push(
      messageFrom(owner, {
        document: { file_id: 'doc', file_unique_id: 'd', file_name: '../../budget 2026.csv' },
      }),
    );
    expect(await sentTo(owner.id, 1, from)).toEqual(['Got the budget.']);

    const saved = (await readdir(join(gw.home, TELEGRAM_FILES_DIR))).sort();
    expect(saved).toHaveLength(2);
    const photo = saved.find((n) => n.endsWith('photo.jpg'))!;
    const doc = saved.find((n) => n.endsWith('budget_2026.csv'))!;
    expect(await readFile(join(gw.home, TELEGRAM_FILES_DIR, photo))).toEqual(jpeg);
    expect(await readFile(join(gw.home, TELEGRAM_FILES_DIR, doc), 'utf8')).toContain('rent,900');
    const prompts = upstream.received
      .filter((r) => r.path === '/v1/messages')
      .map((r) => JSON.stringify(r.body));
    expect(prompts[0]).toContain('What is this?');
    expect(prompts[0]).toContain(`${TELEGRAM_FILES_DIR}/${photo}`);
    expect(prompts[1]).toContain(`${TELEGRAM_FILES_DIR}/${doc}`);
    // The photo itself goes to the model as an image block (its largest size); the CSV does not.
    const sentImages = upstream.received
      .filter((r) => r.path === '/v1/messages')
      .map((r) =>
        (
          r.body as {
            messages: { content: { type: string; source?: { media_type: string; data: string } }[] }[];
          }
        ).messages
          .flatMap((m) => m.content)
          .filter((b) => b.type === 'image'),
      );
    expect(sentImages[0]).toEqual([
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: jpeg.toString('base64') } },
    ]);
    expect(sentImages[1]).toHaveLength(1); // the same conversation: the photo is still in it, no new one

    // Larger than this instance takes: refused in words, nothing saved, nothing sent to the AI.
    tg.addFile('huge', Buffer.alloc(2048, 1), 'documents/file_3.bin');
    from = tg.calls.length;
    tg.push(
      messageFrom(owner, { document: { file_id: 'huge', file_unique_id: 'h', file_name: 'huge.bin' } }),
    );
    const [refusal] = await sentTo(owner.id, 1, from);
    expect(refusal).toContain(TEXT.fileFailed);
    expect(await readdir(join(gw.home, TELEGRAM_FILES_DIR))).toHaveLength(2);
    expect(upstream.received.filter((r) => r.path === '/v1/messages')).toHaveLength(2);
  });

  it('unlinks the owner and forgets the token on request', async () => {
    gw = await start();
    await setUpAndLink();
    const unlinked = await gw.api('/api/settings/telegram/owner', { method: 'DELETE' });
    expect(await unlinked.json()).toMatchObject({ owner: null, linkCode: { attemptsLeft: 5 } });
    const from = tg.calls.length;
    tg.push(messageFrom(owner, { text: 'still there?' }));
    expect(await sentTo(owner.id, 1, from)).toEqual([TEXT.wrongCode]);
    expect((await gw.api('/api/settings/telegram', { method: 'DELETE' })).status).toBe(204);
    expect(await (await gw.api('/api/settings/telegram')).json()).toMatchObject({
      configured: false,
      status: { state: 'off' },
    });
  });
});

describe('Telegram channel (webhook, with a public URL)', () => {
  const post = (secret: string | undefined, body: unknown) =>
    fetch(gw.url + TELEGRAM_WEBHOOK_PATH, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}),
      },
      body: JSON.stringify(body),
    });

  it('registers the webhook with the instance secret, and takes updates only with that secret', async () => {
    gw = await start({ publicUrl: 'https://alice.example.org' });
    const res = await gw.api('/api/settings/telegram', json({ botToken: BOT_TOKEN }));
    const { linkCode, status } = await res.json();
    expect(status).toMatchObject({ state: 'running', via: 'webhook' });
    const [hook] = await tg.waitFor('setWebhook');
    const secret = telegramWebhookSecret(gw.token);
    expect(hook!.params).toMatchObject({
      url: `https://alice.example.org${TELEGRAM_WEBHOOK_PATH}`,
      secret_token: secret,
    });
    expect(tg.calls.some((c) => c.method === 'getUpdates')).toBe(false);

    const update = { update_id: 1, ...messageFrom(owner, { text: linkCode.code }) };
    for (const wrong of [undefined, 'wrong-secret', `${secret}x`]) {
      const refused = await post(wrong, update);
      expect(refused.status).toBe(401);
      expect((await refused.json()).error.code).toBe('bad_secret');
    }
    expect((await gw.api('/api/settings/telegram').then((r) => r.json())).owner).toBeNull();
    expect((await post(secret, { not: 'an update' })).status).toBe(400);

    const from = tg.calls.length;
    const taken = await post(secret, update);
    expect(taken.status).toBe(200);
    expect(await sentTo(owner.id, 1, from)).toEqual([TEXT.linked]);
  });
});
