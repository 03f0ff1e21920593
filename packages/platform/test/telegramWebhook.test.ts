import { fileURLToPath } from 'node:url';
import { reply } from '@matrixos/proxy/testing';
import { TELEGRAM_WEBHOOK_PATH, telegramWebhookSecret } from '@matrixos/shared';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type BotApiStandIn,
  messageFrom,
  startBotApiStandIn,
} from '../../gateway/test/telegram/botApiStandIn.ts';
import type { Progress } from '../src/orchestrator/orchestrator.ts';
import { startTestPlatform, startTestPlatformWithProxy, type TestPlatform } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));
const GATEWAY = fileURLToPath(new URL('../../gateway/src/main.ts', import.meta.url));
const BOT_TOKEN = '123456789:AAHfakeTokenForTheStandIn_0123456789';
const SECRET_HEADER = 'x-telegram-bot-api-secret-token';
const owner = { id: 4001, first_name: 'Alice' };

/** Telegram's webhook call: anonymous, the update as JSON, the secret in its header (if any). */
const webhook = (
  t: TestPlatform,
  handle: string,
  secret: string | undefined,
  update: object,
  o: { method?: string; path?: string } = {},
) =>
  t.instance(handle, {
    anonymous: true,
    method: o.method ?? 'POST',
    path: o.path ?? TELEGRAM_WEBHOOK_PATH,
    headers: secret === undefined ? {} : { [SECRET_HEADER]: secret },
    body: update,
  });

describe("Telegram's webhook through the router", () => {
  let t: TestPlatform | undefined;
  let close: (() => Promise<void>) | undefined;
  let tg: BotApiStandIn | undefined;
  afterEach(async () => {
    await (close ? close() : t?.destroy());
    await tg?.close();
    t = undefined;
    close = undefined;
    tg = undefined;
  });

  it('refuses a wrong or missing secret, another path or method, before waking the instance', async () => {
    t = await startTestPlatform({ runtime: 'process', command: [process.execPath, FIXTURE] });
    await t.provision('alice');
    const bob = await t.provision('bob');
    await t.admin('POST', '/containers/alice/stop');
    const steps: Progress['step'][] = [];
    t.platform.orchestrator.events.on('progress', (e) => e.handle === 'alice' && steps.push(e.step));
    const secret = telegramWebhookSecret(t.tokenOf('alice')!);
    const update = { update_id: 1, ...messageFrom(owner, { text: 'hi' }) };

    const attempts = [
      await webhook(t, 'alice', undefined, update),
      await webhook(t, 'alice', '', update),
      await webhook(t, 'alice', 'wrong-secret', update),
      await webhook(t, 'alice', `${secret}x`, update),
      // Another instance's secret, the right secret elsewhere, or with another method.
      await webhook(t, 'alice', telegramWebhookSecret(bob), update),
      await webhook(t, 'alice', secret, update, { path: '/api/files/notes.md' }),
      await webhook(t, 'alice', secret, update, { path: `${TELEGRAM_WEBHOOK_PATH}/../../files/x` }),
      await webhook(t, 'alice', secret, update, { path: `${TELEGRAM_WEBHOOK_PATH}?x=1` }),
      await webhook(t, 'alice', secret, update, { method: 'PUT' }),
    ];
    expect(attempts.map((r) => r.status)).toEqual(Array(attempts.length).fill(401));
    expect(steps).toEqual([]);
    expect((await t.admin('GET', '/containers/alice')).json()).toMatchObject({
      instance: { state: 'stopped' },
    });

    // The right secret on exactly that path and method wakes it, and reaches it.
    const taken = await webhook(t, 'alice', secret, update);
    expect(taken.status).toBe(404); // the fixture instance has no such route: it answered, not the router
    expect(taken.text).toBe('not here');
    expect(steps).toContain('starting');
    expect((await t.admin('GET', '/containers/alice')).json()).toMatchObject({
      instance: { state: 'running' },
    });
  });

  it('wakes a sleeping instance (the real gateway) for a Telegram message, which the AI answers', async () => {
    tg = await startBotApiStandIn(BOT_TOKEN);
    const p = await startTestPlatformWithProxy({
      runtime: 'process',
      command: [process.execPath, GATEWAY],
      env: { INSTANCE_TELEGRAM_API_ROOT: tg.url },
    });
    t = p.t;
    close = p.close;
    await t.provision('alice');
    const set = await t.instance('alice', {
      method: 'PUT',
      path: '/api/settings/telegram',
      body: { botToken: BOT_TOKEN },
    });
    expect(set.status).toBe(200);
    const { linkCode } = set.json<{ linkCode: { code: string } }>();
    const [hook] = await tg.waitFor('setWebhook');
    const secret = telegramWebhookSecret(t.tokenOf('alice')!);
    expect(hook!.params).toMatchObject({
      url: `http://alice.localhost:${t.port}${TELEGRAM_WEBHOOK_PATH}`,
      secret_token: secret,
    });

    let from = tg.calls.length;
    expect(
      (await webhook(t, 'alice', secret, { update_id: 1, ...messageFrom(owner, { text: linkCode.code }) }))
        .status,
    ).toBe(200);
    expect((await tg.waitFor('sendMessage', 1, from))[0]!.params.text).toMatch(/^Linked/);

    await t.admin('POST', '/containers/alice/stop');
    expect((await t.admin('GET', '/containers/alice')).json()).toMatchObject({
      instance: { state: 'stopped' },
    });
    p.upstream.enqueue(reply('Good morning, Alice.'));
    from = tg.calls.length;
    const woken = await webhook(t, 'alice', secret, {
      update_id: 2,
      ...messageFrom(owner, { text: 'Good morning!' }),
    });
    expect(woken.status).toBe(200);
    const [answer] = await tg.waitFor('sendMessage', 1, from);
    expect(answer!.params).toMatchObject({ chat_id: owner.id, text: 'Good morning, Alice.' });
    // Woken, not registered again: the webhook URL was kept in the home.
    expect(tg.calls.filter((c) => c.method === 'setWebhook')).toHaveLength(1);
  });
});
