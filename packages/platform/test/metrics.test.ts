import { fileURLToPath } from 'node:url';
import { type ProxyProcess, reply, type UpstreamStandIn } from '@matrixos/proxy/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { totpCodeAt } from '../src/accounts/totp.ts';
import { createCookieClient, signUpWithTotp } from './cookieClient.ts';
import { startTestPlatformWithProxy, type TestPlatform } from './harness.ts';
import { parseExposition, type Sample, sampleSum } from './metrics/scrape.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));

/**
 * Both services' `GET /metrics` after real traffic: a provision, a wake, sign-ins, a WebSocket,
 * a proxied LLM call through the Anthropic stand-in. The series move by what happened.
 */
describe('metrics', () => {
  let upstream: UpstreamStandIn;
  let proxy: ProxyProcess;
  let t: TestPlatform;
  let close: () => Promise<void>;
  let now = Date.now();

  beforeAll(async () => {
    ({ t, proxy, upstream, close } = await startTestPlatformWithProxy({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      clock: () => now,
    }));
  });
  afterAll(() => close?.());

  const scrapePlatform = async (): Promise<Sample[]> => {
    const r = await t.admin('GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toContain('text/plain');
    return parseExposition(r.text);
  };
  const scrapeProxy = async (): Promise<Sample[]> => {
    const r = await fetch(`${proxy.url}/metrics`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    expect(r.status).toBe(200);
    return parseExposition(await r.text());
  };
  const proxyKeyOf = async (handle: string) => {
    const authorization = `Bearer ${t.platform.access.instanceToken(handle)}`;
    return (await t.instance(handle, { path: '/env', headers: { authorization } })).json<{ apiKey: string }>()
      .apiKey;
  };

  it('gives anonymous callers, wrong tokens and instance keys nothing, on both services', async () => {
    await t.provision('alice');
    for (const headers of [{}, { authorization: 'Bearer mxa_not-the-admin-token-at-all' }] as Record<
      string,
      string
    >[]) {
      const r = await t.request({ path: '/metrics', headers });
      expect(r.status).toBe(401);
      expect(r.json<{ error: { code: string } }>().error.code).toBe('unauthorized');
      expect(r.text).not.toContain('matrixos_');
    }
    // Not through an instance's host either: that is the instance's own /metrics (or none).
    const viaInstance = await t.instance('alice', {
      path: '/metrics',
      anonymous: true,
      headers: { accept: 'application/json' },
    });
    expect(viaInstance.text).not.toContain('matrixos_instances');
    const apiKey = await proxyKeyOf('alice');
    for (const headers of [{}, { authorization: `Bearer ${apiKey}` }, { 'x-api-key': apiKey }] as Record<
      string,
      string
    >[]) {
      const r = await fetch(`${proxy.url}/metrics`, { headers });
      expect(r.status).toBe(401);
      expect(await r.text()).not.toContain('matrixos_proxy');
    }
  });

  it('counts a provision, a wake, router requests by class, a WebSocket and reconciler state', async () => {
    const before = await scrapePlatform();
    await t.provision('bob');
    expect((await t.instance('bob', { path: '/env' })).status).toBe(200);
    expect((await t.instance('nobody', { path: '/' })).status).toBe(404);
    expect((await t.admin('POST', '/containers/bob/stop')).status).toBe(200);
    expect((await t.instance('bob', { path: '/env' })).status).toBe(200); // woken for this request
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/ws`, {
      headers: { host: `bob.localhost:${t.port}`, authorization: `Bearer ${t.tokenOf('bob')}` },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const open = await scrapePlatform();
    expect(sampleSum(open, 'matrixos_router_open_websockets')).toBe(1);
    ws.close();
    await expect
      .poll(async () => sampleSum(await scrapePlatform(), 'matrixos_router_open_websockets'))
      .toBe(0);

    const after = await scrapePlatform();
    const delta = (name: string, labels?: Record<string, string>) =>
      sampleSum(after, name, labels) - sampleSum(before, name, labels);
    expect(delta('matrixos_provisions_total', { outcome: 'created' })).toBe(1);
    expect(delta('matrixos_provision_duration_seconds_count', { outcome: 'created' })).toBe(1);
    expect(delta('matrixos_provision_duration_seconds_sum', { outcome: 'created' })).toBeGreaterThan(0);
    expect(delta('matrixos_wakes_total', { outcome: 'ok' })).toBe(1);
    expect(delta('matrixos_wake_duration_seconds_count', { outcome: 'ok' })).toBe(1);
    expect(delta('matrixos_router_requests_total', { code_class: '2xx' })).toBeGreaterThanOrEqual(2);
    expect(delta('matrixos_router_requests_total', { code_class: '4xx' })).toBe(1);
    expect(delta('matrixos_router_request_duration_seconds_count', { code_class: '4xx' })).toBe(1);
    // Buckets are cumulative: +Inf holds every request of the class.
    expect(
      sampleSum(after, 'matrixos_router_request_duration_seconds_bucket', { code_class: '2xx', le: '+Inf' }),
    ).toBe(sampleSum(after, 'matrixos_router_request_duration_seconds_count', { code_class: '2xx' }));
    expect(sampleSum(after, 'matrixos_instances', { state: 'running' })).toBe(2);
    expect(sampleSum(after, 'matrixos_instances', { state: 'stopped' })).toBe(0);
    expect(sampleSum(after, 'matrixos_engine_up')).toBe(1);
    expect(sampleSum(after, 'matrixos_llm_proxy_up')).toBe(1);
    // A provision asked again is counted apart from a new one.
    expect((await t.admin('POST', '/containers/provision', { handle: 'bob' })).status).toBe(200);
    expect(sampleSum(await scrapePlatform(), 'matrixos_provisions_total', { outcome: 'existing' })).toBe(1);
  });

  it('counts a repair the reconciler made', async () => {
    const before = sampleSum(await scrapePlatform(), 'matrixos_reconciler_repairs_total');
    // The database says stopped while the engine runs it (the reconciler's "running that should be
    // stopped"): the sweep stops it, and counts the repair by its kind.
    t.platform.store.update('alice', { state: 'stopped' });
    expect((await t.admin('POST', '/admin/sweep')).status).toBe(200);
    const after = await scrapePlatform();
    expect(sampleSum(after, 'matrixos_reconciler_repairs_total')).toBe(before + 1);
    expect(sampleSum(after, 'matrixos_reconciler_repairs_total', { kind: 'stopped' })).toBe(1);
  });

  it('counts sign-ins by method and outcome, with no handle or user label', async () => {
    const client = createCookieClient(t.port);
    const { secret } = await signUpWithTotp(client, 'carol', now);
    now += 60_000; // the sign-up's code step is over
    const login = (code: string) =>
      createCookieClient(t.port).cp('/auth/login/totp', { method: 'POST', body: { handle: 'carol', code } });
    expect((await login('000000')).status).toBe(401);
    expect((await login(totpCodeAt(secret, now))).status).toBe(200);
    const s = await scrapePlatform();
    expect(sampleSum(s, 'matrixos_signins_total', { method: 'totp', outcome: 'success' })).toBe(1);
    expect(sampleSum(s, 'matrixos_signins_total', { method: 'totp', outcome: 'failure' })).toBe(1);
    for (const sample of s) {
      expect(sample.labels).not.toHaveProperty('handle');
      expect(sample.labels).not.toHaveProperty('user');
      expect(JSON.stringify(sample.labels)).not.toContain('carol');
    }
  });

  it('counts proxied LLM calls: requests, tokens and cost by model, refusals, upstream latency', async () => {
    const apiKey = await proxyKeyOf('bob');
    const ask = () =>
      fetch(`${proxy.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'x-api-key': apiKey,
          'anthropic-version': '2023-06-01',
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          model: 'claude-sonnet-5-5',
          max_tokens: 100,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
    const before = await scrapeProxy();
    upstream.enqueue(reply('hello bob', { usage: { input_tokens: 1000, output_tokens: 50 } }));
    const ok = await ask();
    expect(ok.status).toBe(200);
    await ok.text();
    // A spent budget: the next request is refused before reaching the API.
    const quota = await fetch(`${proxy.url}/quotas/bob`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ totalUsd: 0.000001 }),
    });
    expect(quota.status).toBeLessThan(300);
    const refused = await ask();
    expect(refused.status).toBe(429);
    await refused.text();

    const after = await scrapeProxy();
    const delta = (name: string, labels?: Record<string, string>) =>
      sampleSum(after, name, labels) - sampleSum(before, name, labels);
    const model = { model: 'claude-sonnet-5-5' };
    expect(delta('matrixos_proxy_requests_total', { ...model, outcome: 'ok' })).toBe(1);
    expect(delta('matrixos_proxy_tokens_total', { ...model, kind: 'input' })).toBe(1000);
    expect(delta('matrixos_proxy_tokens_total', { ...model, kind: 'output' })).toBe(50);
    expect(delta('matrixos_proxy_cost_usd_total', model)).toBeGreaterThan(0);
    expect(delta('matrixos_proxy_refusals_total', { reason: 'budget_exhausted' })).toBe(1);
    expect(delta('matrixos_proxy_upstream_response_seconds_count', model)).toBe(1);
    expect(delta('matrixos_proxy_request_duration_seconds_count', { ...model, outcome: 'ok' })).toBe(1);
    expect(sampleSum(after, 'matrixos_proxy_in_flight_requests')).toBe(0);
    for (const sample of after) expect(sample.labels).not.toHaveProperty('handle');
  });

  it('limits scrapes per client: past 120 a minute, 429 with Retry-After', async () => {
    let last = 200;
    for (let i = 0; i < 125 && last === 200; i++) last = (await t.admin('GET', '/metrics')).status;
    expect(last).toBe(429);
    now += 61_000;
    expect((await t.admin('GET', '/metrics')).status).toBe(200);
  });
});
