import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, ANTHROPIC_VERSION, PLATFORM_KEY, readUntil, until } from './helpers.ts';
import { type ProxyProcess, startProxyProcess } from './process.ts';
import { reply, startUpstreamStandIn, type UpstreamStandIn } from './upstream/index.ts';

/** Issue 7 §7: a proxy crash made the interrupted generations free. */
let upstream: UpstreamStandIn;
beforeAll(async () => {
  upstream = await startUpstreamStandIn();
});
afterAll(() => upstream.close());

const usageOf = async (p: ProxyProcess, token: string) =>
  (await fetch(`${p.url}/usage/alice`, { headers: { 'x-api-key': token } })).json();

describe('a proxy killed mid-stream', () => {
  it('bills, at its next start, the input the API reported and the output that streamed', async () => {
    const o = { upstreamUrl: upstream.url, platformKey: PLATFORM_KEY, adminToken: ADMIN_TOKEN };
    const first = await startProxyProcess({ ...o, env: { USAGE_RECORD_INTERVAL: '50ms' } });
    let second: ProxyProcess | undefined;
    try {
      const token = await first.register('alice');
      // message_start says 1,000 input tokens; three 10-byte deltas stream (30 bytes = 10 tokens
      // at 3 bytes a token); then the stream hangs with the request in flight.
      upstream.enqueue(
        reply('0123456789abcdefghijABCDEFGHIJ', {
          deltaSize: 10,
          hangAfterEvents: 6,
          usage: { input_tokens: 1000, output_tokens: 999 },
        }),
      );
      const controller = new AbortController();
      const res = await fetch(`${first.url}/v1/messages`, {
        method: 'POST',
        signal: controller.signal,
        headers: {
          'x-api-key': token,
          'anthropic-version': ANTHROPIC_VERSION,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          model: 'claude-haiku-4-5',
          max_tokens: 4000,
          stream: true,
          messages: [{ role: 'user', content: 'talk' }],
        }),
      });
      expect(res.status).toBe(200);
      await readUntil(res, (t) => t.includes('ABCDEFGHIJ'));
      // The row has what streamed before the process dies.
      await until(async () => {
        const r = (await usageOf(first, token)).recent[0];
        return r.state === 'in_flight' && r.inputTokens === 1000 && r.outputTokens === 10;
      });

      await first.kill('SIGKILL');
      controller.abort();
      second = await startProxyProcess({ ...o, dir: first.dir });
      const usage = await usageOf(second, token);
      // Haiku 4.5: 1,000 input tokens at $1 / MTok + 10 output tokens at $5 / MTok = 1,050 micro-dollars.
      expect(usage.total).toMatchObject({ spent: 0.00105, held: 0 });
      expect(usage.inFlight).toBe(0);
      expect(usage.recent[0]).toMatchObject({
        state: 'interrupted',
        outcome: 'interrupted',
        usageSource: 'partial',
        inputTokens: 1000,
        outputTokens: 10,
        cost: 0.00105,
      });
    } finally {
      await second?.stop();
      await first.close();
    }
  });
});
