import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { budgetNotices, requests } from '../src/db/schema.ts';
import { costMicros } from '../src/pricing/cost.ts';
import { worstCaseUsage } from '../src/pricing/estimate.ts';
import { findPrice } from '../src/pricing/prices.ts';
import { ADMIN_TOKEN, readUntil, startProxy, type TestProxy, until } from './helpers.ts';
import { reply, startUpstreamStandIn, type UpstreamStandIn } from './upstream/index.ts';

const HAIKU = 'claude-haiku-4-5';

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

const rows = (p: TestProxy, handle: string) =>
  p.db.select().from(requests).where(eq(requests.handle, handle)).all();

describe('admission', () => {
  it('lets 50 concurrent streams spend a budget that fits 10: exactly 10 run, no overspend, none stuck', async () => {
    const body = {
      model: HAIKU,
      max_tokens: 2000,
      stream: true,
      messages: [{ role: 'user', content: 'Build me an app' }],
    };
    // The stand-in reports exactly the worst case, so each request costs precisely its reservation.
    const worst = worstCaseUsage(body, Buffer.byteLength(JSON.stringify(body)));
    const each = costMicros(worst, findPrice(HAIKU, new Date())!);
    upstream.reset();
    const local = await startUpstreamStandIn({
      fallback: reply('a long answer', {
        eventDelayMs: 15,
        usage: { input_tokens: worst.inputTokens, output_tokens: worst.outputTokens },
      }),
    });
    proxy = await startProxy(local.url, { env: { MAX_INFLIGHT_PER_USER: '100' } });
    try {
      const token = await proxy.register('alice');
      await proxy.admin('POST', '/quotas/alice', { totalUsd: (10 * each) / 1e6 });
      const p = proxy;
      const results = await Promise.all(
        Array.from({ length: 50 }, async () => {
          const res = await p.messages(token, body);
          return { status: res.status, text: await res.text() };
        }),
      );
      const ok = results.filter((r) => r.status === 200);
      const refused = results.filter((r) => r.status === 429);
      expect(ok).toHaveLength(10);
      expect(refused).toHaveLength(40);
      for (const r of ok) expect(r.text).toContain('event: message_stop');
      for (const r of refused)
        expect(JSON.parse(r.text).error).toMatchObject({ type: 'rate_limit_error', message: /budget/ });

      await until(() => p.app.ledger.inFlight('alice') === 0);
      const [total] = p.app.ledger.balances('alice');
      expect(total).toMatchObject({ spentMicros: 10 * each, reservedMicros: 0, limitMicros: 10 * each });
      const settled = rows(p, 'alice');
      expect(settled).toHaveLength(10);
      expect(settled.every((r) => r.state === 'settled' && r.outcome === 'ok' && r.costMicros === each)).toBe(
        true,
      );
      expect(local.received).toHaveLength(10);
    } finally {
      await local.close();
    }
  });

  it('keeps at most 5 requests in flight; cancelled streams free their slots', async () => {
    proxy = await startProxy(upstream.url);
    const p = proxy;
    const token = await p.register('alice');
    const body = { model: HAIKU, max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }] };
    const open = async () => {
      upstream.enqueue(reply('this stream never ends', { hangAfterEvents: 3 }));
      const controller = new AbortController();
      const res = await p.messages(token, body, { signal: controller.signal });
      expect(res.status).toBe(200);
      await readUntil(res, (t) => t.includes('content_block_start'));
      return controller;
    };
    const streams = [];
    for (let i = 0; i < 5; i++) streams.push(await open());

    const sixth = await p.messages(token, body);
    expect(sixth.status).toBe(429);
    expect(sixth.headers.get('x-should-retry')).toBe('false');
    expect((await sixth.json()).error).toMatchObject({
      type: 'rate_limit_error',
      message: /in flight.*at most 5/,
    });

    // Cancel two: their slots come back, and the proxy stops their generation upstream.
    streams[0]!.abort();
    streams[1]!.abort();
    await until(() => p.app.ledger.inFlight('alice') === 3);
    await until(() => upstream.received[0]!.aborted && upstream.received[1]!.aborted);
    upstream.enqueue(reply('done', { usage: { input_tokens: 5, output_tokens: 5 } }));
    const next = await p.messages(token, body);
    expect(next.status).toBe(200);
    expect(await next.text()).toContain('message_stop');
    streams.push(await open());

    for (const s of streams) s.abort();
    await until(() => p.app.ledger.inFlight('alice') === 0);
    const outcomes = rows(p, 'alice').map((r) => r.outcome);
    expect(outcomes.filter((o) => o === 'client_disconnect')).toHaveLength(6);
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    expect(p.app.ledger.balances('alice')[0]!.reservedMicros).toBe(0);
  });
});

describe('a client that disconnects', () => {
  it('mid-stream is billed its input and what was generated, and generation upstream stops', async () => {
    proxy = await startProxy(upstream.url);
    const p = proxy;
    const token = await p.register('alice');
    upstream.enqueue(
      reply('word '.repeat(200), {
        deltaSize: 5,
        eventDelayMs: 2,
        usage: { input_tokens: 1000, output_tokens: 4000 },
      }),
    );
    const controller = new AbortController();
    const res = await p.messages(
      token,
      { model: HAIKU, max_tokens: 4000, stream: true, messages: [{ role: 'user', content: 'talk' }] },
      { signal: controller.signal },
    );
    const seen = await readUntil(res, (t) => (t.match(/text_delta/g)?.length ?? 0) >= 20);
    controller.abort();
    await until(() => p.app.ledger.inFlight('alice') === 0);
    await until(() => upstream.received[0]!.aborted);

    const [row] = rows(p, 'alice');
    const deltas = seen.match(/text_delta/g)!.length;
    expect(row).toMatchObject({ outcome: 'client_disconnect', usageSource: 'partial', inputTokens: 1000 });
    // At least the 5-byte deltas the client saw, at 3 bytes a token; not the 4000 never generated.
    expect(row!.outputTokens).toBeGreaterThanOrEqual(Math.ceil((deltas * 5) / 3));
    expect(row!.outputTokens).toBeLessThan(4000);
    expect(row!.costMicros).toBe(1000 + row!.outputTokens * 5);
  });

  it('before the stream starts is billed once the API reports the prompt', async () => {
    proxy = await startProxy(upstream.url, { env: { DISCONNECT_GRACE: '5s' } });
    const p = proxy;
    const token = await p.register('alice');
    upstream.enqueue(
      reply('late', { firstByteDelayMs: 300, usage: { input_tokens: 1234, output_tokens: 99 } }),
    );
    const controller = new AbortController();
    const pending = p
      .messages(
        token,
        { model: HAIKU, max_tokens: 99, stream: true, messages: [] },
        { signal: controller.signal },
      )
      .catch(() => null);
    await until(() => upstream.received.length === 1);
    controller.abort();
    await pending;
    await until(() => p.app.ledger.inFlight('alice') === 0);
    const [row] = rows(p, 'alice');
    expect(row).toMatchObject({ outcome: 'client_disconnect', inputTokens: 1234 });
    expect(row!.costMicros).toBe(1234 + row!.outputTokens * 5);
  });

  it('while the API is still reading the prompt is billed the estimated prompt after the grace period', async () => {
    proxy = await startProxy(upstream.url, { env: { DISCONNECT_GRACE: '100ms' } });
    const p = proxy;
    const token = await p.register('alice');
    upstream.enqueue(reply('too late', { firstByteDelayMs: 2000 }));
    const body = {
      model: HAIKU,
      max_tokens: 99,
      stream: true,
      messages: [{ role: 'user', content: 'x'.repeat(3000) }],
    };
    const controller = new AbortController();
    const pending = p.messages(token, body, { signal: controller.signal }).catch(() => null);
    await until(() => upstream.received.length === 1);
    controller.abort();
    await pending;
    await until(() => p.app.ledger.inFlight('alice') === 0);
    const [row] = rows(p, 'alice');
    const estimate = worstCaseUsage(body, Buffer.byteLength(JSON.stringify(body))).inputTokens;
    expect(row).toMatchObject({
      outcome: 'client_disconnect',
      usageSource: 'estimated',
      inputTokens: estimate,
      outputTokens: 0,
    });
    expect(row!.costMicros).toBe(estimate);
    await until(() => upstream.received[0]!.aborted);
  });

  it('from a JSON request is billed exactly, the response read to its end', async () => {
    proxy = await startProxy(upstream.url);
    const p = proxy;
    const token = await p.register('alice');
    upstream.enqueue(
      reply('slow', { firstByteDelayMs: 200, usage: { input_tokens: 100, output_tokens: 200 } }),
    );
    const controller = new AbortController();
    const pending = p
      .messages(token, { model: HAIKU, max_tokens: 500, messages: [] }, { signal: controller.signal })
      .catch(() => null);
    await until(() => upstream.received.length === 1);
    controller.abort();
    await pending;
    await until(() => p.app.ledger.inFlight('alice') === 0);
    const [row] = rows(p, 'alice');
    expect(row).toMatchObject({
      outcome: 'client_disconnect',
      usageSource: 'reported',
      costMicros: 100 + 200 * 5,
    });
    expect(upstream.received[0]!.completed).toBe(true);
  });
});

describe('budget notices', () => {
  it('reach the webhook once per threshold, with the admin token', async () => {
    const received: { auth: string | undefined; body: Record<string, unknown> }[] = [];
    const hook = http.createServer((req, res) => {
      let data = '';
      req.on('data', (c) => {
        data += c;
      });
      req.on('end', () => {
        received.push({ auth: req.headers.authorization, body: JSON.parse(data) });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/notices`;
      proxy = await startProxy(upstream.url, { env: { BUDGET_WEBHOOK_URL: url } });
      const p = proxy;
      const token = await p.register('alice');
      await p.admin('POST', '/quotas/alice', { totalUsd: 0.1 });
      const run = async (maxTokens: number, input: number, output: number) => {
        upstream.enqueue(reply('ok', { usage: { input_tokens: input, output_tokens: output } }));
        const res = await p.messages(token, { model: HAIKU, max_tokens: maxTokens, messages: [] });
        await res.text();
        await until(() => p.app.ledger.inFlight('alice') === 0);
        return res.status;
      };
      // Haiku 4.5 output is $5 / MTok: 8000 tokens = $0.04.
      expect(await run(10_000, 0, 8000)).toBe(200); // $0.04 spent: 40%
      expect(await run(10_000, 0, 8000)).toBe(200); // $0.08: 80%
      expect(await run(3000, 0, 2000)).toBe(200); // $0.09
      expect(await run(1900, 500, 1900)).toBe(200); // $0.10: 100%
      expect(await run(10, 0, 1)).toBe(429);
      await until(() => received.length === 2);
      // No third can be on its way: a notice is sent only for a row the ledger inserted, and it has two.
      expect(
        p.db
          .select()
          .from(budgetNotices)
          .all()
          .map((n) => n.threshold),
      ).toEqual([80, 100]);
      expect(received).toEqual([
        {
          auth: `Bearer ${ADMIN_TOKEN}`,
          body: {
            handle: 'alice',
            threshold: 80,
            period: 'total',
            periodKey: 'total',
            spent: 0.08,
            limit: 0.1,
          },
        },
        {
          auth: `Bearer ${ADMIN_TOKEN}`,
          body: {
            handle: 'alice',
            threshold: 100,
            period: 'total',
            periodKey: 'total',
            spent: 0.1,
            limit: 0.1,
          },
        },
      ]);
    } finally {
      hook.closeAllConnections();
      await new Promise((r) => hook.close(r));
    }
  });
});
