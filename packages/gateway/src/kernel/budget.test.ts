import {
  type ProxyProcess,
  reply,
  startProxyProcess,
  startUpstreamStandIn,
  type UpstreamStandIn,
} from '@matrixos/proxy/testing';
import { createLogger } from '@matrixos/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../../test/harness.ts';
import { connectSocket } from '../../test/socket.ts';
import { budgetLine, fetchBudget } from './budget.ts';

const log = createLogger('budget-test', 'silent');

const PLATFORM_KEY = 'sk-ant-platform-key-for-gateway-tests';
let upstream: UpstreamStandIn;
let proxy: ProxyProcess;
beforeAll(async () => {
  upstream = await startUpstreamStandIn();
  proxy = await startProxyProcess({
    upstreamUrl: upstream.url,
    platformKey: PLATFORM_KEY,
    adminToken: 'admin-token-for-gateway-tests-0123456789',
  });
});
afterAll(async () => {
  await proxy.close();
  await upstream.close();
});

/** A platform-mode instance whose kernel talks to `baseUrl` with its own proxy token. */
async function instance(handle: string, baseUrl: string, token: string): Promise<TestGateway> {
  return startGateway({ mode: 'platform', handle, anthropicBaseUrl: baseUrl, anthropicApiKey: token });
}

async function chat(gw: TestGateway, text: string) {
  const socket = await connectSocket(gw);
  socket.send({ type: 'chat.send', text, requestId: 'r' });
  const started = await socket.next('chat.started');
  const done = await socket.next('chat.done', (e) => e.turnId === started.turnId, 30_000);
  const error = socket.events.find((e) => e.type === 'chat.error');
  socket.close();
  return { done, error };
}

const systemOf = (i: number) =>
  (upstream.received.filter((r) => r.path === '/v1/messages')[i]!.body as { system: string }).system;

describe('the budget in the system prompt, through the real LLM proxy', () => {
  it('states what the proxy says is left, and shows a budget refusal plainly', async () => {
    upstream.reset();
    const token = await proxy.register('alice');
    await proxy.quota('alice', { totalUsd: 2.5 });
    const gw = await instance('alice', proxy.url, token);
    try {
      upstream.enqueue(reply('Hello Alice.', { usage: { input_tokens: 1000, output_tokens: 100 } }));
      expect((await chat(gw, 'Hi')).done.stopReason).toBe('end_turn');
      expect(systemOf(0)).toContain('Budget: $2.50 remaining.');
      // The proxy forwarded with the platform's key: the instance's token never went upstream.
      expect(upstream.received[0]!.headers['x-api-key']).toBe(PLATFORM_KEY);

      upstream.enqueue(reply('Hello again.'));
      await chat(gw, 'Again');
      // $2 per million input and $10 per million output for claude-sonnet-5-5: $0.003 spent, rounded down.
      expect(systemOf(1)).toContain('Budget: $2.49 remaining.');

      // Less than what is spent: nothing is left, so the proxy refuses with its code (a little
      // left would buy a shorter answer instead).
      await proxy.quota('alice', { totalUsd: 0.001 });
      const calls = upstream.received.length;
      const { done, error } = await chat(gw, 'And once more');
      expect(done.stopReason).toBe('error');
      expect(error).toMatchObject({
        code: 'budget_exhausted',
        message: expect.stringMatching(
          /^Your AI budget is used up \(budget of <\$0\.01 reached: <\$0\.01 spent\)/,
        ),
      });
      expect(upstream.received.length).toBe(calls);
    } finally {
      await gw.close();
    }
  });

  it('says the budget is unknown when the usage service does not answer, and chats anyway', async () => {
    upstream.reset();
    // The stand-in has no /usage route: a 404 where the proxy would answer.
    const gw = await instance('bob', upstream.url, 'mxp_not-a-proxy-token');
    try {
      upstream.enqueue(reply('Hi Bob.'));
      expect((await chat(gw, 'Hi')).done.stopReason).toBe('end_turn');
      expect(systemOf(0)).toContain('Budget: unknown (the usage service did not answer)');
    } finally {
      await gw.close();
    }
  });

  it("keeps the owner's own key at the proxy: set from settings, used upstream, never shown again", async () => {
    upstream.reset();
    const token = await proxy.register('carol');
    const gw = await instance('carol', proxy.url, token);
    try {
      const set = await gw.api('/api/settings/anthropic-key', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiKey: 'sk-ant-carols-own-key-1234' }),
      });
      expect(await set.json()).toEqual({ configured: true, hint: '…1234' });
      const settings = await (await gw.api('/api/settings')).json();
      expect(settings.ownKey).toEqual({ configured: true, hint: '…1234' });
      expect(settings.budget).toMatchObject({ kind: 'own-key' });
      expect(JSON.stringify(settings)).not.toContain('carols-own-key');

      upstream.enqueue(reply('On your key.'));
      await chat(gw, 'Hi');
      expect(upstream.received.at(-1)!.headers['x-api-key']).toBe('sk-ant-carols-own-key-1234');
      expect(systemOf(0)).toContain("Budget: the owner's own Anthropic key pays");

      expect((await gw.api('/api/settings/anthropic-key', { method: 'DELETE' })).status).toBe(204);
      expect((await (await gw.api('/api/settings')).json()).ownKey).toEqual({
        configured: false,
        hint: null,
      });
    } finally {
      await gw.close();
    }
  });
});

describe('fetchBudget', () => {
  it('answers unknown, never throws, when nothing listens', async () => {
    const budget = await fetchBudget({
      baseUrl: 'http://127.0.0.1:9',
      handle: 'x',
      apiKey: 'k',
      log,
      timeoutMs: 500,
    });
    expect(budget).toEqual({ kind: 'unknown' });
  });

  it("states the proxy's own rounding and names the cases without a number", () => {
    expect(budgetLine({ kind: 'remaining', usd: 4.987, text: '$4.98' })).toBe('Budget: $4.98 remaining');
    expect(budgetLine({ kind: 'remaining', usd: 0.0097, text: '<$0.01' })).toBe('Budget: <$0.01 remaining');
    expect(budgetLine({ kind: 'unlimited' })).toBe('Budget: no limit set');
  });

  it('reads the amount the proxy formatted, with the one rounding rule', async () => {
    const token = await proxy.register('dave');
    await proxy.quota('dave', { totalUsd: 0.0097 });
    const budget = await fetchBudget({ baseUrl: proxy.url, handle: 'dave', apiKey: token, log });
    expect(budget).toEqual({ kind: 'remaining', usd: 0.0097, text: '<$0.01' });
    expect(budgetLine(budget)).toBe('Budget: <$0.01 remaining');
  });
});
