import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  ANTHROPIC_VERSION,
  PLATFORM_KEY,
  readUntil,
  startProxy,
  type TestProxy,
  until,
} from './helpers.ts';
import {
  overloaded,
  rateLimited,
  reply,
  startUpstreamStandIn,
  type UpstreamStandIn,
} from './upstream/index.ts';

const SONNET = 'claude-sonnet-5-5';
const HAIKU = 'claude-haiku-4-5';
const ask = (more: Record<string, unknown> = {}) => ({
  model: SONNET,
  max_tokens: 1024,
  messages: [{ role: 'user', content: 'Hello' }],
  ...more,
});

let upstream: UpstreamStandIn;
let proxy: TestProxy;
let alice: string;
let bob: string;

beforeAll(async () => {
  upstream = await startUpstreamStandIn({ apiKeys: [PLATFORM_KEY, 'sk-ant-own-key-of-alice-0123456789'] });
});
afterAll(() => upstream.close());
beforeEach(async () => {
  upstream.reset();
  proxy = await startProxy(upstream.url);
  alice = await proxy.register('alice');
  bob = await proxy.register('bob');
});
afterEach(() => proxy.close());

const usageOf = async (handle: string, token: string) => {
  const res = await fetch(`${proxy.url}/usage/${handle}`, { headers: { 'x-api-key': token } });
  expect(res.status).toBe(200);
  return res.json();
};
const settled = (handle = 'alice') => until(() => proxy.app.ledger.inFlight(handle) === 0);

describe('/v1 passthrough', () => {
  it("forwards with the platform key, never the caller's, and bills cache tokens to the cent", async () => {
    upstream.enqueue(
      reply('Hi there', {
        usage: {
          input_tokens: 1000,
          output_tokens: 500,
          cache_creation_input_tokens: 3000,
          cache_read_input_tokens: 10_000,
          cache_creation: { ephemeral_5m_input_tokens: 2000, ephemeral_1h_input_tokens: 1000 },
        },
      }),
    );
    const res = await proxy.messages(alice, ask(), {
      headers: {
        'anthropic-beta': 'extended-cache-ttl-2025-04-11',
        cookie: 'session=secret',
        'x-forwarded-for': '10.0.0.1',
        'x-matrix-user': 'bob',
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('request-id')).toMatch(/^req_standin_/);
    expect(res.headers.get('anthropic-ratelimit-requests-limit')).toBe('4000');
    const body = await res.json();
    expect(body.content).toEqual([{ type: 'text', text: 'Hi there' }]);

    const sent = upstream.received[0]!;
    expect(sent.headers['x-api-key']).toBe(PLATFORM_KEY);
    expect(sent.headers['anthropic-version']).toBe(ANTHROPIC_VERSION);
    expect(sent.headers['anthropic-beta']).toBe('extended-cache-ttl-2025-04-11');
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.headers.cookie).toBeUndefined();
    expect(sent.headers['x-forwarded-for']).toBeUndefined();
    expect(JSON.stringify(sent.headers)).not.toContain(alice);

    // Sonnet 5.5: $2 in, $10 out, $2.50 5m writes, $4 1h writes, $0.20 reads per MTok:
    // 0.002 + 0.005 + 0.005 + 0.004 + 0.002 = $0.018. It is alice's, whatever x-matrix-user says.
    await settled();
    const usage = await usageOf('alice', alice);
    expect(usage.total).toMatchObject({ spent: 0.018, held: 0, limit: 5, remaining: 4.982 });
    expect(usage.today.spent).toBe(0.018);
    expect(usage.remaining).toBe(4.982);
    expect(usage.byModel).toEqual([
      {
        model: SONNET,
        keySource: 'platform',
        requests: 1,
        inputTokens: 1000,
        outputTokens: 500,
        cacheWrite5mTokens: 2000,
        cacheWrite1hTokens: 1000,
        cacheReadTokens: 10_000,
        cost: 0.018,
      },
    ]);
    expect(usage.recent[0]).toMatchObject({ outcome: 'ok', usageSource: 'reported', upstreamStatus: 200 });
    expect((await usageOf('bob', bob)).total.spent).toBe(0);
  });

  it('streams the SSE bytes exactly as the upstream sent them, unknown events included', async () => {
    upstream.enqueue({
      kind: 'message',
      model: HAIKU,
      content: [
        { type: 'thinking', thinking: 'Let me think about it.' },
        { type: 'text', text: 'Création: ✓ — done.' },
        {
          type: 'tool_use',
          name: 'write_file',
          input: { path: 'apps/x/index.html', content: '<h1>hi</h1>' },
        },
      ],
      unknownEvent: true,
      eventDelayMs: 1,
      deltaSize: 3,
      usage: {
        input_tokens: 2000,
        output_tokens: 1000,
        cache_creation_input_tokens: 4000,
        cache_read_input_tokens: 20_000,
      },
    });
    const res = await proxy.messages(alice, ask({ model: HAIKU, stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.equals(Buffer.concat(upstream.received[0]!.sent))).toBe(true);
    const text = bytes.toString('utf8');
    for (const type of [
      'message_start',
      'ping',
      'thinking_delta',
      'signature_delta',
      'text_delta',
      'input_json_delta',
    ]) {
      expect(text).toContain(type);
    }
    expect(text).toContain('event: future_event');

    // Haiku 4.5: 2000 * $1 + 1000 * $5 + 4000 * $1.25 (no TTL split: 5-minute) + 20000 * $0.10 per MTok.
    await settled();
    const usage = await usageOf('alice', alice);
    expect(usage.total.spent).toBe(0.014);
    expect(usage.byModel[0]).toMatchObject({
      outputTokens: 1000,
      cacheWrite5mTokens: 4000,
      cacheReadTokens: 20_000,
    });
  });

  it('forwards each event as it arrives, without buffering the stream', async () => {
    upstream.enqueue(reply('never finished', { hangAfterEvents: 3 }));
    const controller = new AbortController();
    const res = await proxy.messages(alice, ask({ stream: true }), { signal: controller.signal });
    const text = await readUntil(res, (t) => t.includes('content_block_start'));
    expect(text).toContain('event: message_start');
    expect(upstream.received[0]!.completed).toBe(false);
    controller.abort();
    await settled();
  });

  it('passes an error event after HTTP 200 through and bills the input and what was generated', async () => {
    upstream.enqueue(
      reply('x'.repeat(30), {
        deltaSize: 3,
        errorAfterEvents: 6,
        usage: { input_tokens: 1000, output_tokens: 9999 },
      }),
    );
    const res = await proxy.messages(alice, ask({ stream: true }));
    const text = await res.text();
    expect(text).toContain('event: error');
    expect(text).toContain('overloaded_error');
    await settled();
    const [last] = (await usageOf('alice', alice)).recent;
    // message_start, ping, content_block_start, then 3 deltas of 3 bytes: at least 3 tokens of output.
    expect(last).toMatchObject({
      outcome: 'stream_error',
      usageSource: 'partial',
      inputTokens: 1000,
      outputTokens: 3,
    });
    expect(last.cost).toBe(0.00203);
  });

  it('passes 429 and 529 through with their headers, and bills nothing', async () => {
    upstream.enqueue(rateLimited(7), overloaded());
    const limited = await proxy.messages(alice, ask());
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    expect((await limited.json()).error.type).toBe('rate_limit_error');
    const busy = await proxy.messages(alice, ask({ stream: true }));
    expect(busy.status).toBe(529);
    expect(busy.headers.get('x-should-retry')).toBe('true');
    expect((await busy.json()).error.type).toBe('overloaded_error');
    await settled();
    const usage = await usageOf('alice', alice);
    expect(usage.total.spent).toBe(0);
    expect(usage.recent.map((r: { outcome: string }) => r.outcome)).toEqual([
      'upstream_error',
      'upstream_error',
    ]);
  });

  it('refuses a model with no price, without calling the upstream', async () => {
    const res = await proxy.messages(alice, ask({ model: 'claude-unknown-9' }));
    expect(res.status).toBe(400);
    expect(res.headers.get('x-should-retry')).toBe('false');
    const body = await res.json();
    expect(body).toEqual({
      type: 'error',
      error: {
        type: 'invalid_request_error',
        code: 'model_unpriced',
        message: expect.stringMatching(/"claude-unknown-9" has no price.*refused rather than billed at \$0/),
      },
    });
    expect(upstream.received).toHaveLength(0);
  });

  it('refuses a body that is not a Messages request', async () => {
    for (const body of [
      { model: SONNET, messages: [] },
      { model: SONNET, max_tokens: -1 },
    ]) {
      const res = await proxy.messages(alice, body);
      expect(res.status).toBe(400);
      expect((await res.json()).error.type).toBe('invalid_request_error');
    }
    expect(upstream.received).toHaveLength(0);
  });

  it('serves count_tokens and models unmetered, and refuses endpoints it cannot meter', async () => {
    const headers = { 'x-api-key': alice, 'anthropic-version': ANTHROPIC_VERSION };
    const models = await fetch(`${proxy.url}/v1/models?limit=5`, { headers });
    expect(models.status).toBe(200);
    expect((await models.json()).data.length).toBeGreaterThan(0);
    expect(upstream.received[0]!.path).toBe('/v1/models?limit=5');
    const count = await fetch(`${proxy.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(ask()),
    });
    expect(count.status).toBe(200);
    expect((await count.json()).input_tokens).toBeGreaterThan(0);
    const batches = await fetch(`${proxy.url}/v1/messages/batches`, { method: 'POST', headers, body: '{}' });
    expect(batches.status).toBe(404);
    expect((await batches.json()).error.type).toBe('not_found_error');
    expect(upstream.received).toHaveLength(2);
    expect((await usageOf('alice', alice)).recent).toHaveLength(0);
  });

  it('refuses a body over MAX_REQUEST_BYTES', async () => {
    const small = await startProxy(upstream.url, { env: { MAX_REQUEST_BYTES: '1k' } });
    try {
      const token = await small.register('carol');
      const res = await small.messages(
        token,
        ask({ messages: [{ role: 'user', content: 'x'.repeat(2000) }] }),
      );
      expect(res.status).toBe(413);
      expect((await res.json()).error.type).toBe('request_too_large');
      expect(upstream.received).toHaveLength(0);
    } finally {
      await small.close();
    }
  });

  it('cuts a stream the upstream stopped feeding after UPSTREAM_TIMEOUT, and bills what was generated', async () => {
    const impatient = await startProxy(upstream.url, { env: { UPSTREAM_TIMEOUT: '200ms' } });
    try {
      const token = await impatient.register('carol');
      upstream.enqueue(
        reply('stalls here', {
          deltaSize: 3,
          hangAfterEvents: 5,
          usage: { input_tokens: 50, output_tokens: 999 },
        }),
      );
      const res = await impatient.messages(token, ask({ stream: true }));
      await expect(res.text()).rejects.toThrow();
      await until(() => impatient.app.ledger.inFlight('carol') === 0);
      const [row] = impatient.app.ledger.balances('carol');
      expect(row!.spentMicros).toBe(50 * 2 + 2 * 10);
    } finally {
      await impatient.close();
    }
  });

  it('answers 502 in the API shape when the upstream cannot be reached, and bills nothing', async () => {
    const down = await startUpstreamStandIn();
    const url = down.url;
    await down.close();
    const lonely = await startProxy(url);
    try {
      const token = await lonely.register('carol');
      const res = await lonely.messages(token, ask());
      expect(res.status).toBe(502);
      expect((await res.json()).error.type).toBe('api_error');
      expect(lonely.app.ledger.inFlight('carol')).toBe(0);
      expect(lonely.app.ledger.balances('carol')[0]).toMatchObject({ spentMicros: 0, reservedMicros: 0 });
    } finally {
      await lonely.close();
    }
  });
});

describe('identity comes from the key alone', () => {
  it('refuses missing, unknown and forged keys in the API error shape', async () => {
    const forged = alice.slice(0, -1) + (alice.endsWith('A') ? 'B' : 'A');
    const attempts: Record<string, string>[] = [
      {},
      { 'x-api-key': 'mxp_unknown' },
      { 'x-api-key': forged },
      { 'x-api-key': PLATFORM_KEY },
      { authorization: `Bearer ${ADMIN_TOKEN}` },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${proxy.url}/v1/messages`, {
        method: 'POST',
        headers: { 'anthropic-version': ANTHROPIC_VERSION, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(ask()),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('x-should-retry')).toBe('false');
      expect((await res.json()).error.type).toBe('authentication_error');
    }
    expect(upstream.received).toHaveLength(0);
    const bearer = await fetch(`${proxy.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'anthropic-version': ANTHROPIC_VERSION },
      body: JSON.stringify(ask()),
    });
    expect(bearer.status).toBe(200);
  });

  it("never lets one instance's token spend another's budget or read its usage", async () => {
    expect((await proxy.admin('POST', '/quotas/bob', { totalUsd: 0 })).status).toBe(200);
    const refused = await proxy.messages(bob, ask());
    expect(refused.status).toBe(429);
    // Claiming to be someone else changes nothing: the key says who pays.
    const asAlice = await proxy.messages(alice, ask(), {
      headers: { 'x-matrix-user': 'bob', 'x-handle': 'bob' },
    });
    expect(asAlice.status).toBe(200);
    await settled();
    expect((await fetch(`${proxy.url}/usage/bob`, { headers: { 'x-api-key': alice } })).status).toBe(403);
    expect(
      (await fetch(`${proxy.url}/usage/bob`, { headers: { authorization: `Bearer ${alice}` } })).status,
    ).toBe(403);
    expect((await usageOf('alice', alice)).recent).toHaveLength(1);
    expect((await usageOf('bob', bob)).recent).toHaveLength(0);
  });

  it('stops accepting a revoked token at once', async () => {
    expect((await proxy.messages(alice, ask())).status).toBe(200);
    const revoked = await proxy.admin('DELETE', '/keys/alice');
    expect(await revoked.json()).toEqual({ handle: 'alice', revoked: true });
    expect((await proxy.messages(alice, ask())).status).toBe(401);
  });

  it('keeps a token to one handle, and refuses handles it cannot serve', async () => {
    const taken = await proxy.admin('PUT', '/keys/carol', { token: alice });
    expect(taken.status).toBe(409);
    expect((await proxy.admin('PUT', '/keys/summary', { token: `mxp_${'x'.repeat(40)}` })).status).toBe(400);
    expect((await proxy.admin('PUT', '/keys/Bad_Handle', { token: `mxp_${'x'.repeat(40)}` })).status).toBe(
      400,
    );
    expect((await proxy.admin('PUT', '/keys/carol', { token: 'short' })).status).toBe(400);
  });
});

describe('admin API', () => {
  const routes: [string, string, unknown?][] = [
    ['PUT', '/keys/carol', { token: `mxp_${'y'.repeat(43)}` }],
    ['DELETE', '/keys/alice'],
    ['GET', '/usage/summary'],
    ['GET', '/quotas/alice'],
    ['POST', '/quotas/alice', { totalUsd: 100 }],
  ];

  it('refuses every admin route without the admin token', async () => {
    for (const [method, path, body] of routes) {
      const attempts: Record<string, string>[] = [
        {},
        { authorization: `Bearer ${alice}` },
        { authorization: 'Bearer wrong-admin-token-0123456789' },
      ];
      for (const headers of attempts) {
        const res = await fetch(proxy.url + path, {
          method,
          headers: { 'content-type': 'application/json', ...headers },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        expect(res.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
        expect((await res.json()).error.code).toBe('unauthorized');
      }
    }
    expect(proxy.app.keys.handleFor(alice)).toBe('alice');
    expect(proxy.app.ledger.limitsOf('alice').totalMicros).toBe(5_000_000);
  });

  it('refuses every admin route when no admin token is configured', async () => {
    const open = await startProxy(upstream.url, { env: { PLATFORM_ADMIN_TOKEN: undefined } });
    try {
      for (const [method, path, body] of routes) {
        const res = await fetch(open.url + path, {
          method,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        expect(res.status).toBe(401);
        expect((await res.json()).error.code).toBe('admin_disabled');
      }
    } finally {
      await open.close();
    }
  });

  it('sets and reads quotas, keeping unnamed limits and refusing bad ones', async () => {
    const set = await proxy.admin('POST', '/quotas/alice', { dailyUsd: 1.5, monthlyUsd: 20 });
    expect(await set.json()).toEqual({ handle: 'alice', totalUsd: 5, dailyUsd: 1.5, monthlyUsd: 20 });
    const cleared = await proxy.admin('POST', '/quotas/alice', { monthlyUsd: null });
    expect(await cleared.json()).toEqual({ handle: 'alice', totalUsd: 5, dailyUsd: 1.5, monthlyUsd: null });
    for (const bad of [{}, { dailyUsd: -1 }, { dailyUsd: '1' }, { weeklyUsd: 1 }]) {
      expect((await proxy.admin('POST', '/quotas/alice', bad)).status).toBe(400);
    }
    const usage = await usageOf('alice', alice);
    expect(usage.today.limit).toBe(1.5);
    expect(usage.month.limit).toBeNull();
    expect(usage.remaining).toBe(1.5);
  });

  it('summarises spend per user', async () => {
    upstream.enqueue(reply('a', { usage: { input_tokens: 0, output_tokens: 1000 } }));
    await (await proxy.messages(alice, ask())).text();
    await settled();
    const summary = await (await proxy.admin('GET', '/usage/summary')).json();
    expect(summary.totals.total).toBe(0.01);
    expect(summary.users.map((u: { handle: string }) => u.handle)).toEqual(['alice', 'bob']);
    expect(summary.users[0]).toMatchObject({
      handle: 'alice',
      today: 0.01,
      month: 0.01,
      total: 0.01,
      requests: 1,
    });
  });
});

describe("a user's own Anthropic key", () => {
  const OWN = 'sk-ant-own-key-of-alice-0123456789';
  const self = (method: string, token: string, body?: unknown) =>
    fetch(`${proxy.url}/keys/self/anthropic`, {
      method,
      headers: { 'x-api-key': token, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('is used upstream and recorded, charges no budget, and is stored sealed', async () => {
    expect(await (await self('PUT', alice, { apiKey: OWN })).json()).toEqual({
      configured: true,
      hint: '…6789',
    });
    expect((await self('PUT', `Bearer-less-${alice}`, { apiKey: OWN })).status).toBe(401);
    await proxy.admin('POST', '/quotas/alice', { totalUsd: 0 });

    upstream.enqueue(reply('on my own key', { usage: { input_tokens: 100, output_tokens: 100 } }));
    const res = await proxy.messages(alice, ask());
    expect(res.status).toBe(200);
    expect(upstream.received[0]!.headers['x-api-key']).toBe(OWN);
    await settled();
    const usage = await usageOf('alice', alice);
    expect(usage.total).toMatchObject({ spent: 0, held: 0, limit: 0 });
    expect(usage.byModel[0]).toMatchObject({ keySource: 'own', requests: 1, cost: 0.0012 });
    expect(usage.ownKey).toEqual({ configured: true, hint: '…6789' });

    // Bob's requests still go out on the platform's key.
    await (await proxy.messages(bob, ask())).text();
    expect(upstream.received[1]!.headers['x-api-key']).toBe(PLATFORM_KEY);

    proxy.db.$client.pragma('wal_checkpoint(TRUNCATE)');
    for (const file of [proxy.dbFile, `${proxy.dbFile}-wal`]) {
      try {
        expect(readFileSync(file).includes(Buffer.from(OWN))).toBe(false);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }

    expect(await (await self('DELETE', alice)).json()).toEqual({ configured: false, hint: null });
    expect(await (await self('GET', alice)).json()).toEqual({ configured: false, hint: null });
    expect((await proxy.messages(alice, ask())).status).toBe(429);
  });

  it('can be set only by the instance itself', async () => {
    const res = await fetch(`${proxy.url}/keys/self/anthropic`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: OWN }),
    });
    expect(res.status).toBe(403);
    expect((await self('PUT', alice, { apiKey: 'has spaces in it and is long' })).status).toBe(400);
  });
});

describe('health and restarts', () => {
  it('reports health without authentication', async () => {
    const res = await fetch(`${proxy.url}/health`);
    expect(await res.json()).toEqual({
      status: 'ok',
      db: 'ok',
      upstream: { url: upstream.url, platformKey: true },
      adminApi: true,
    });
  });

  it('releases reservations left by a crash when it starts again', async () => {
    const dir = proxy.dir;
    const admitted = proxy.app.ledger.admit({
      handle: 'alice',
      keySource: 'platform',
      model: SONNET,
      stream: true,
      serverTools: false,
      maxTokens: 1,
      minTokens: 1,
      costOf: () => 1_000_000,
    });
    expect(admitted.ok).toBe(true);
    expect((await usageOf('alice', alice)).total.held).toBe(1);
    const again = await startProxy(upstream.url, { dir });
    try {
      const usage = await (
        await fetch(`${again.url}/usage/alice`, { headers: { 'x-api-key': alice } })
      ).json();
      expect(usage.total).toMatchObject({ held: 0, spent: 0 });
      expect(usage.inFlight).toBe(0);
      expect(usage.recent[0]).toMatchObject({ state: 'interrupted', outcome: 'interrupted' });
    } finally {
      await again.close();
    }
  });
});
