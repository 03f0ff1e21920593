import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ProxyProcess, reply, type UpstreamStandIn } from '@matrixos/proxy/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCookieClient, signUpWithTotp } from './cookieClient.ts';
import { PLATFORM_KEY, startTestPlatformWithProxy, type TestPlatform } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));

/**
 * The platform with the real LLM proxy (its own process) in front of the Anthropic stand-in:
 * each instance's key is registered at provision and revoked at destroy, budget notices reach
 * the instance's inbox, and a provision with no proxy to register with leaves nothing behind.
 */
describe('platform and LLM proxy', () => {
  let upstream: UpstreamStandIn;
  let proxy: ProxyProcess;
  let t: TestPlatform;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ t, proxy, upstream, close } = await startTestPlatformWithProxy({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
    }));
  });
  afterAll(() => close?.());

  const instanceEnv = async (handle: string) => {
    const authorization = `Bearer ${t.platform.access.instanceToken(handle)}`;
    return (await t.instance(handle, { path: '/env', headers: { authorization } })).json<{
      baseUrl: string;
      apiKey: string;
    }>();
  };
  const ask = (apiKey: string) =>
    fetch(`${proxy.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-sonnet-5-5',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });

  it("gives each instance its own proxy key, registered before it starts, and the proxy's address", async () => {
    await t.provision('alice');
    await t.provision('bob');
    const alice = await instanceEnv('alice');
    const bob = await instanceEnv('bob');
    expect(alice.baseUrl).toBe(`${proxy.url}`);
    expect(alice.apiKey).toMatch(/^mxp_/);
    expect(bob.apiKey).not.toBe(alice.apiKey);
    upstream.enqueue(reply('hello alice', { usage: { input_tokens: 1000, output_tokens: 50 } }));
    const r = await ask(alice.apiKey);
    expect(r.status).toBe(200);
    expect(upstream.received.at(-1)?.headers['x-api-key']).toBe(PLATFORM_KEY);
    const usage = await fetch(`${proxy.url}/usage/alice`, {
      headers: { authorization: `Bearer ${alice.apiKey}` },
    });
    expect(usage.status).toBe(200);
    // One instance's key never reads another's usage.
    expect(
      (
        await fetch(`${proxy.url}/usage/alice`, {
          headers: { authorization: `Bearer ${bob.apiKey}` },
        })
      ).status,
    ).toBe(403);
  });

  it('tells the user in their instance when the budget is nearly and then fully spent', async () => {
    const { apiKey } = await instanceEnv('bob');
    // $0.01 total: the first request (~$0.0085) crosses 80%, the next is refused at 100%.
    const quota = await fetch(`${proxy.url}/quotas/bob`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ totalUsd: 0.01 }),
    });
    expect(quota.status).toBe(200);
    upstream.enqueue(reply('ok', { usage: { input_tokens: 1000, output_tokens: 650 } }));
    await ask(apiKey);
    await expect
      .poll(
        async () =>
          (await t.instance('bob', { path: '/api/messages' }))
            .json<{ messages: { text: string }[] }>()
            .messages.map((m) => m.text),
        { timeout: 10_000 },
      )
      // $0.0085 spent (1000 x $2/M + 650 x $10/M): under a cent reads "<$0.01", never "$0.00" or "$0.01".
      .toContain('You have used 80% of your free AI budget: <$0.01 of $0.01.');
    const messages = (await t.instance('bob', { path: '/api/messages' })).json<{
      messages: { from: string; authorization: string }[];
    }>().messages;
    expect(messages[0]).toMatchObject({ from: 'Matrix OS', authorization: `Bearer ${t.tokenOf('bob')}` });
  });

  it("takes the proxy's notices by the proxy's schema: periodKey is required and checked", async () => {
    const post = (body: object) => t.admin('POST', '/internal/budget-notices', body);
    const notice = { handle: 'bob', threshold: 80, period: 'day', spent: 0.8, limit: 1 };
    const missing = await post(notice);
    expect(missing.status).toBe(400);
    expect(missing.json<{ error: { code: string; issues: { path: string }[] } }>().error).toMatchObject({
      code: 'invalid_body',
      issues: [{ path: 'periodKey' }],
    });
    expect((await post({ ...notice, periodKey: 'yesterday' })).status).toBe(400);
    const huge = await post({ ...notice, periodKey: '2026-12-01', padding: 'x'.repeat(10_000) });
    expect(huge.status).toBe(413);
    expect(huge.json<{ error: { code: string } }>().error.code).toBe('body_too_large');
    const ok = await post({ ...notice, periodKey: new Date().toISOString().slice(0, 10) });
    expect(ok.status).toBe(200);
  });

  it("shows a signed-in user their AI's spend by day, and the admin everyone's cost", async () => {
    const client = createCookieClient(t.port);
    await signUpWithTotp(client, 'dora');
    await expect
      .poll(
        async () =>
          (await t.admin('GET', '/containers/dora')).json<{ instance?: { state: string } }>().instance?.state,
        { timeout: 15_000 },
      )
      .toBe('running');
    const { apiKey } = await instanceEnv('dora');
    upstream.enqueue(reply('hi', { usage: { input_tokens: 2000, output_tokens: 100 } }));
    expect((await ask(apiKey)).status).toBe(200);
    const usage = (await client.cp('/me/usage')).json<{
      handle: string;
      month: { spent: number };
      daily: { day: string; cost: number }[];
    }>();
    expect(usage.handle).toBe('dora');
    expect(usage.month.spent).toBeCloseTo(0.005, 6); // 2000 × $2/M + 100 × $10/M
    expect(usage.daily).toEqual([
      { day: new Date().toISOString().slice(0, 10), requests: 1, cost: usage.month.spent },
    ]);
    const overview = (await t.admin('GET', '/admin/overview')).json<{
      totals: { aiSpendMonth: number };
      instances: { handle: string; aiSpend: { month: number } }[];
    }>();
    expect(overview.instances.find((i) => i.handle === 'dora')?.aiSpend.month).toBeCloseTo(0.005, 6);
    expect(overview.totals.aiSpendMonth).toBeGreaterThan(0.005);
  });

  it('revokes the key when the instance is destroyed', async () => {
    const { apiKey } = await instanceEnv('alice');
    await t.admin('DELETE', '/containers/alice');
    expect((await ask(apiKey)).status).toBe(401);
  });

  it('registers every key again at start (a proxy that lost its database learns them back)', async () => {
    const report = await t.platform.orchestrator.syncLlmKeys();
    expect(report).toEqual({ registered: 2, failed: [] });
  });

  it('fails a provision cleanly when the proxy cannot register the key', async () => {
    await proxy.stop();
    const r = await t.admin('POST', '/containers/provision', { handle: 'carol' });
    expect(r.status).toBe(503);
    expect(r.json<{ error: { message: string } }>().error.message).toContain('LLM proxy');
    expect((await t.admin('GET', '/containers/carol')).status).toBe(404);
    expect(readdirSync(path.join(t.dataDir, 'homes')).filter((v) => v.startsWith('carol'))).toEqual([]);
  });
});
