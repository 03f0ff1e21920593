import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLATFORM_KEY, startProxy, type TestProxy, until } from './helpers.ts';
import { overloaded, reply, startUpstreamStandIn, toolCall, type UpstreamStandIn } from './upstream/index.ts';

const MODEL = 'claude-sonnet-5-5';

let upstream: UpstreamStandIn;
let proxy: TestProxy;
let token: string;

beforeAll(async () => {
  upstream = await startUpstreamStandIn({ apiKeys: [PLATFORM_KEY] });
  proxy = await startProxy(upstream.url);
  token = await proxy.register('alice');
});
afterAll(async () => {
  await proxy.close();
  await upstream.close();
});

/** The official client, as the kernel in an instance uses it: the proxy URL and the instance's token. */
const client = (opts: ConstructorParameters<typeof Anthropic>[0] = {}) =>
  new Anthropic({ apiKey: token, baseURL: proxy.url, maxRetries: 0, ...opts });

describe('the official @anthropic-ai/sdk against the proxy', () => {
  it('creates a message', async () => {
    upstream.enqueue(reply('Hello, Alice.', { usage: { input_tokens: 12, output_tokens: 4 } }));
    const message = await client().messages.create({
      model: MODEL,
      max_tokens: 64,
      messages: [{ role: 'user', content: 'Say hello' }],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'Hello, Alice.' }]);
    expect(message.usage).toMatchObject({ input_tokens: 12, output_tokens: 4 });
  });

  it('streams text and tool use', async () => {
    upstream.enqueue(reply('Streaming works fine.', { deltaSize: 4, eventDelayMs: 1 }));
    const stream = client().messages.stream({
      model: MODEL,
      max_tokens: 64,
      messages: [{ role: 'user', content: 'Stream please' }],
    });
    const parts: string[] = [];
    stream.on('text', (t) => parts.push(t));
    const message = await stream.finalMessage();
    expect(parts.join('')).toBe('Streaming works fine.');
    expect(parts.length).toBeGreaterThan(1);
    expect(message.stop_reason).toBe('end_turn');

    const input = { name: 'todo', files: { 'index.html': '<h1>Todo</h1>' } };
    upstream.enqueue(toolCall('create_app', input, { deltaSize: 5 }));
    const tool = await client()
      .messages.stream({
        model: MODEL,
        max_tokens: 256,
        tools: [{ name: 'create_app', description: 'Create an app', input_schema: { type: 'object' } }],
        messages: [{ role: 'user', content: 'Make a todo app' }],
      })
      .finalMessage();
    expect(tool.stop_reason).toBe('tool_use');
    expect(tool.content[0]).toMatchObject({ type: 'tool_use', name: 'create_app', input });
  });

  it('works with the token as a bearer token too', async () => {
    upstream.enqueue(reply('bearer ok'));
    const message = await new Anthropic({
      authToken: token,
      baseURL: proxy.url,
      maxRetries: 0,
    }).messages.create({
      model: MODEL,
      max_tokens: 16,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(message.content[0]).toMatchObject({ text: 'bearer ok' });
  });

  it('retries an overloaded upstream as it would the API, from the headers passed through', async () => {
    upstream.enqueue(overloaded(), reply('second time lucky'));
    const message = await client({ maxRetries: 2 }).messages.create({
      model: MODEL,
      max_tokens: 16,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(message.content[0]).toMatchObject({ text: 'second time lucky' });
  });

  it('surfaces a budget refusal as a RateLimitError it does not retry', async () => {
    await proxy.admin('POST', '/quotas/alice', { dailyUsd: 0.000001 });
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const err = await client({ maxRetries: 3, fetch: counting })
      .messages.create({ model: MODEL, max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as Error).message).toMatch(/daily budget of <\$0\.01 reached/);
    // The SDK hands the contract's machine-readable code through: body and header.
    const apiErr = err as InstanceType<typeof Anthropic.RateLimitError>;
    expect(apiErr.error).toMatchObject({ error: { code: 'budget_exhausted', period: 'day' } });
    expect(apiErr.headers?.get('x-proxy-refusal')).toBe('budget_exhausted');
    expect(calls).toBe(1);
    await proxy.admin('POST', '/quotas/alice', { dailyUsd: null });
    await until(() => proxy.app.ledger.inFlight('alice') === 0);
  });
});
