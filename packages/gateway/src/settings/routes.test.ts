import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { reply, startUpstreamStandIn, type UpstreamStandIn } from '@matrixos/proxy/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../../test/harness.ts';
import { connectSocket } from '../../test/socket.ts';

let upstream: UpstreamStandIn;
let gw: TestGateway;
beforeAll(async () => {
  upstream = await startUpstreamStandIn();
});
afterAll(() => upstream.close());
beforeEach(async () => {
  upstream.reset();
  gw = await startGateway({ anthropicBaseUrl: upstream.url, anthropicApiKey: undefined });
});
afterEach(() => gw.close());

const json = (method: string, body: unknown) => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

describe('/api/settings', () => {
  it('reads the AI settings from system/config.json and changes them there, keeping the rest', async () => {
    const settings = await (await gw.api('/api/settings')).json();
    expect(settings).toMatchObject({
      mode: 'single',
      ai: { model: 'claude-sonnet-5-5', maxTokens: 16000, maxTurns: 12 },
      ownKey: { configured: false, hint: null },
      environmentKey: false,
      budget: null,
      models: [],
    });
    const res = await gw.api('/api/settings', json('PUT', { model: 'claude-opus-5-5', maxTurns: 4 }));
    expect((await res.json()).ai).toEqual({ model: 'claude-opus-5-5', maxTokens: 16000, maxTurns: 4 });
    const file = JSON.parse(await readFile(join(gw.home, 'system/config.json'), 'utf8'));
    expect(file).toEqual({ channels: {}, ai: { model: 'claude-opus-5-5', maxTokens: 16000, maxTurns: 4 } });

    expect((await gw.api('/api/settings', json('PUT', { model: 'no spaces allowed' }))).status).toBe(400);
    expect((await gw.api('/api/settings', json('PUT', { maxTurns: 0 }))).status).toBe(400);
  });

  it('falls back to the defaults for broken values, and refuses to overwrite a broken file', async () => {
    await writeFile(join(gw.home, 'system/config.json'), JSON.stringify({ ai: { model: 42, maxTurns: 3 } }));
    expect((await (await gw.api('/api/settings')).json()).ai).toEqual({
      model: 'claude-sonnet-5-5',
      maxTokens: 16000,
      maxTurns: 3,
    });
    await writeFile(join(gw.home, 'system/config.json'), '{ "channels": { oops');
    const res = await gw.api('/api/settings', json('PUT', { model: 'claude-opus-5-5' }));
    expect(res.status).toBe(409);
    expect(await readFile(join(gw.home, 'system/config.json'), 'utf8')).toBe('{ "channels": { oops');
  });

  it('keeps the own key sealed in .matrixos/, uses it for the AI, and lists its models', async () => {
    const key = 'sk-ant-my-very-own-key-9876';
    const set = await gw.api('/api/settings/anthropic-key', json('PUT', { apiKey: key }));
    expect(await set.json()).toEqual({ configured: true, hint: '…9876' });
    const sealed = await readFile(join(gw.home, '.matrixos/anthropic-key.json'), 'utf8');
    expect(sealed).not.toContain('my-very-own-key');
    expect((await stat(join(gw.home, '.matrixos/anthropic-key.json'))).mode & 0o777).toBe(0o600);
    expect((await gw.api('/files/.matrixos/anthropic-key.json')).status).toBe(403);

    const settings = await (await gw.api('/api/settings')).json();
    expect(settings.ownKey).toEqual({ configured: true, hint: '…9876' });
    expect(settings.models.map((m: { id: string }) => m.id)).toContain('claude-sonnet-5-5');
    expect(JSON.stringify(settings)).not.toContain(key);

    upstream.enqueue(reply('Hi, on your own key.'));
    const socket = await connectSocket(gw);
    socket.send({ type: 'chat.send', text: 'Hello' });
    expect(await socket.next('chat.done')).toMatchObject({ stopReason: 'end_turn' });
    socket.close();
    const call = upstream.received.find((r) => r.path === '/v1/messages')!;
    expect(call.headers.authorization).toBe(`Bearer ${key}`);

    expect((await gw.api('/api/settings/anthropic-key', { method: 'DELETE' })).status).toBe(204);
    expect((await (await gw.api('/api/settings')).json()).ownKey.configured).toBe(false);
    expect((await gw.api('/api/settings/anthropic-key', json('PUT', { apiKey: 'short' }))).status).toBe(400);
  });

  it('cannot open a sealed key after the access token changed: the owner sets it again', async () => {
    await gw.api('/api/settings/anthropic-key', json('PUT', { apiKey: 'sk-ant-sealed-under-old-token' }));
    await gw.running.shutdown(1_000);
    const same = await startGateway({}, { home: gw.home });
    expect((await (await same.api('/api/settings')).json()).ownKey.configured).toBe(true);
    await same.close();
    const rotated = await startGateway({}, { home: gw.home, token: 'mxi_a-new-token-after-rotation' });
    try {
      expect((await (await rotated.api('/api/settings')).json()).ownKey).toEqual({
        configured: false,
        hint: null,
      });
    } finally {
      await rotated.close();
    }
  });
});
