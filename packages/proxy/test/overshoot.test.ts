import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatUsd } from '../src/contract/money.ts';
import { costMicros } from '../src/pricing/cost.ts';
import { worstCaseUsage } from '../src/pricing/estimate.ts';
import { findPrice } from '../src/pricing/prices.ts';
import { startProxy, type TestProxy, until } from './helpers.ts';
import { reply, startUpstreamStandIn, type UpstreamStandIn } from './upstream/index.ts';

/** Issue 7 §6: server tools broke the overshoot bound ($7.22 billed on $0.02); the last cents were unusable. */
const HAIKU = 'claude-haiku-4-5';
const price = findPrice(HAIKU, new Date())!;

let upstream: UpstreamStandIn;
let proxy: TestProxy | undefined;
beforeAll(async () => {
  upstream = await startUpstreamStandIn();
});
afterAll(() => upstream.close());
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  upstream.reset();
});

const bytes = (body: unknown) => Buffer.byteLength(JSON.stringify(body));
const spent = (p: TestProxy) => p.app.ledger.balances('alice')[0]!.spentMicros;

describe('server tools', () => {
  it('refuses 18 concurrent web-search requests on a $0.02 budget before the upstream: their searches alone cost more', async () => {
    proxy = await startProxy(upstream.url, { env: { MAX_INFLIGHT_PER_USER: '20' } });
    const p = proxy;
    const token = await p.register('alice');
    await p.admin('POST', '/quotas/alice', { totalUsd: 0.02 });
    const body = {
      model: HAIKU,
      max_tokens: 1024,
      tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 5 }],
      messages: [{ role: 'user', content: 'search the web for me' }],
    };
    const shortest = costMicros({ ...worstCaseUsage(body, bytes(body)), outputTokens: 128 }, price);
    // Five searches are $0.05 before a token is read.
    expect(shortest).toBeGreaterThan(50_000);
    const answers = await Promise.all(
      Array.from({ length: 18 }, async () => {
        const res = await p.messages(token, body);
        return { status: res.status, body: await res.json() };
      }),
    );
    for (const a of answers) {
      expect(a.status).toBe(429);
      expect(a.body.error).toEqual({
        type: 'rate_limit_error',
        code: 'budget_exhausted',
        period: 'total',
        message: `budget of $0.02 reached: $0.00 spent, and even a short answer to this request may cost up to ${formatUsd(shortest)}`,
      });
    }
    expect(upstream.received).toHaveLength(0);
    expect(spent(p)).toBe(0);
  });

  it('runs web-search requests one at a time, so the budget is overshot by at most one request’s miss', async () => {
    proxy = await startProxy(upstream.url, { env: { MAX_INFLIGHT_PER_USER: '20' } });
    const p = proxy;
    const token = await p.register('alice');
    const body = {
      model: HAIKU,
      max_tokens: 100,
      tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 1 }],
      messages: [{ role: 'user', content: 'one search' }],
    };
    const worst = worstCaseUsage(body, bytes(body));
    const each = costMicros(worst, price);
    // The search results were 30,000 tokens longer than the estimate: $0.03 at Haiku's $1 / MTok.
    const MISS = 30_000;
    const usage = {
      input_tokens: worst.inputTokens + MISS,
      output_tokens: 100,
      server_tool_use: { web_search_requests: 1 },
    };
    const real = costMicros({ ...worst, inputTokens: worst.inputTokens + MISS }, price);
    expect(real).toBe(each + MISS);
    const quota = 3 * each;
    await p.admin('POST', '/quotas/alice', { totalUsd: quota / 1e6 });

    // 18 at once: one goes upstream (held there until the others are answered), 17 are refused.
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    upstream.enqueue(reply('found it', { gate, usage }));
    let answered = 0;
    const wave = Array.from({ length: 18 }, async () => {
      const res = await p.messages(token, body);
      const json = await (res.status === 200 ? Promise.resolve(null) : res.json());
      answered++;
      return { status: res.status, json, res };
    });
    await until(() => answered === 17);
    open();
    const results = await Promise.all(wave);
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    await ok[0]!.res.text();
    for (const r of results.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(429);
      expect(r.json.error).toMatchObject({ type: 'rate_limit_error', code: 'server_tool_in_flight' });
    }
    await until(() => p.app.ledger.inFlight('alice') === 0);
    expect(spent(p)).toBe(real);

    // One after the other: the next fits what is left (3 x each - real = 2 x each - MISS >= each), the third does not.
    upstream.enqueue(reply('found it again', { usage }));
    const second = await p.messages(token, body);
    expect(second.status).toBe(200);
    await second.text();
    await until(() => p.app.ledger.inFlight('alice') === 0);
    const third = await p.messages(token, body);
    expect(third.status).toBe(429);
    expect((await third.json()).error.code).toBe('budget_exhausted');

    expect(upstream.received).toHaveLength(2);
    expect(spent(p)).toBe(2 * real);
    // The bound (docs/proxy.md): past the limit by no more than one request's miss.
    expect(spent(p) - quota).toBeGreaterThan(0);
    expect(spent(p) - quota).toBeLessThanOrEqual(MISS);
  });

  it.each([
    [{ type: 'web_search_20250305', name: 'web_search' }, /web_search_20250305 tool needs max_uses/],
    [{ type: 'code_execution_20250825', name: 'code_execution' }, /container time/],
  ])('refuses %j, which it cannot bound, before the upstream', async (tool, why) => {
    proxy = await startProxy(upstream.url);
    const token = await proxy.register('alice');
    const res = await proxy.messages(token, {
      model: HAIKU,
      max_tokens: 10,
      tools: [tool],
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({
      type: 'invalid_request_error',
      code: 'server_tool_unbounded',
      message: expect.stringMatching(why),
    });
    expect(upstream.received).toHaveLength(0);
    expect(proxy.app.ledger.inFlight('alice')).toBe(0);
  });
});

describe('the last cents', () => {
  it('buy a short answer: max_tokens is capped to what $0.0097 covers, and the response says so', async () => {
    proxy = await startProxy(upstream.url);
    const p = proxy;
    const token = await p.register('alice');
    await p.admin('POST', '/quotas/alice', { totalUsd: 0.0097 });
    const body = {
      model: HAIKU,
      max_tokens: 16_000,
      stream: true,
      messages: [{ role: 'user', content: 'one line, please' }],
    };
    const worst = worstCaseUsage(body, bytes(body));
    // Haiku: $1 / MTok in, $5 out; 16,000 tokens would reserve about $0.08.
    expect(costMicros(worst, price)).toBeGreaterThan(80_000);
    const cap = Math.floor((9_700 - worst.inputTokens) / 5);
    upstream.enqueue(reply('A short answer.', { usage: { input_tokens: 50, output_tokens: 40 } }));
    const res = await p.messages(token, body);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-proxy-max-tokens-capped')).toBe(String(cap));
    expect(res.headers.get('x-proxy-max-tokens-requested')).toBe('16000');
    expect(await res.text()).toContain('event: message_stop');
    expect(upstream.received[0]!.body).toEqual({ ...body, max_tokens: cap });

    await until(() => p.app.ledger.inFlight('alice') === 0);
    expect(spent(p)).toBe(50 + 40 * 5);
    const usage = await (await fetch(`${p.url}/usage/alice`, { headers: { 'x-api-key': token } })).json();
    expect(usage).toMatchObject({ remaining: 0.00945, remainingText: '<$0.01' });
  });

  it('are refused when even the shortest answer does not fit, and the refusal rounds like everything else', async () => {
    proxy = await startProxy(upstream.url, { env: { MIN_CAPPED_TOKENS: '128' } });
    const p = proxy;
    const token = await p.register('alice');
    const body = {
      model: HAIKU,
      max_tokens: 16_000,
      messages: [{ role: 'user', content: 'x'.repeat(3000) }],
    };
    const worst = worstCaseUsage(body, bytes(body));
    const shortest = worst.inputTokens + 128 * 5;
    // One micro-dollar short of the shortest answer.
    await p.admin('POST', '/quotas/alice', { totalUsd: (shortest - 1) / 1e6 });
    const res = await p.messages(token, body);
    expect(res.status).toBe(429);
    expect(res.headers.get('x-proxy-refusal')).toBe('budget_exhausted');
    expect((await res.json()).error.message).toBe(
      `budget of ${formatUsd(shortest - 1)} reached: $0.00 spent, and even a short answer to this request may cost up to ${formatUsd(shortest)}`,
    );
    expect(upstream.received).toHaveLength(0);
  });
});
