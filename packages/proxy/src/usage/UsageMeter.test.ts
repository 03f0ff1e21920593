import { describe, expect, it } from 'vitest';
import { UsageMeter } from './UsageMeter.ts';

const event = (m: UsageMeter, data: Record<string, unknown>) => m.onEvent(JSON.stringify(data));

describe('UsageMeter', () => {
  it("takes input and cache counts from message_start and the final output from message_delta, not message_start's", () => {
    const m = new UsageMeter();
    event(m, {
      type: 'message_start',
      message: {
        usage: {
          input_tokens: 100,
          output_tokens: 1,
          cache_creation_input_tokens: 300,
          cache_read_input_tokens: 50,
          cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 },
        },
      },
    });
    event(m, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hello' } });
    event(m, { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 40 } });
    // message_delta counts are cumulative: the last one replaces the earlier one.
    event(m, { type: 'message_delta', delta: {}, usage: { output_tokens: 42 } });
    expect(m.result()).toEqual({
      source: 'reported',
      usage: {
        inputTokens: 100,
        outputTokens: 42,
        cacheWrite5mTokens: 100,
        cacheWrite1hTokens: 200,
        cacheReadTokens: 50,
        webSearchRequests: 0,
      },
    });
  });

  it('lets message_delta correct the input counts too (newer API versions send them there)', () => {
    const m = new UsageMeter();
    event(m, { type: 'message_start', message: { usage: { input_tokens: 10, output_tokens: 1 } } });
    event(m, {
      type: 'message_delta',
      usage: { input_tokens: 12, output_tokens: 5, server_tool_use: { web_search_requests: 2 } },
    });
    const r = m.result();
    expect(r.usage.inputTokens).toBe(12);
    expect(r.usage.webSearchRequests).toBe(2);
  });

  it('counts cache writes without a per-TTL split as 5-minute writes', () => {
    const m = new UsageMeter();
    m.onMessage(
      JSON.stringify({ usage: { input_tokens: 1, output_tokens: 2, cache_creation_input_tokens: 70 } }),
    );
    expect(m.result().usage).toMatchObject({ cacheWrite5mTokens: 70, cacheWrite1hTokens: 0 });
  });

  it('bills a stream cut short for at least what it streamed', () => {
    const m = new UsageMeter();
    event(m, { type: 'message_start', message: { usage: { input_tokens: 10, output_tokens: 1 } } });
    event(m, { type: 'content_block_delta', delta: { type: 'text_delta', text: 'x'.repeat(300) } });
    event(m, { type: 'content_block_delta', delta: { type: 'input_json_delta', partial_json: '{"a":1}' } });
    event(m, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    const r = m.result();
    expect(r.source).toBe('partial');
    expect(r.usage.inputTokens).toBe(10);
    expect(r.usage.outputTokens).toBe(Math.ceil(307 / 3));
    expect(m.error).toBe('overloaded_error');
  });

  it('ignores events it does not know and data that is not JSON', () => {
    const m = new UsageMeter();
    m.onEvent('not json');
    event(m, { type: 'future_event', usage: { output_tokens: 999 } });
    expect(m.result().source).toBe('none');
  });
});
