import { describe, expect, it } from 'vitest';
import { SEARCH_RESULT_TOKENS, serverToolsOf, worstCaseUsage } from './estimate.ts';

const size = (body: unknown) => Buffer.byteLength(JSON.stringify(body));

describe('worstCaseUsage', () => {
  it('reserves the full max_tokens and at least a token per 3 bytes of prompt', () => {
    const body = { model: 'm', max_tokens: 1024, messages: [{ role: 'user', content: 'x'.repeat(3000) }] };
    const w = worstCaseUsage(body, size(body));
    expect(w.outputTokens).toBe(1024);
    expect(w.inputTokens).toBeGreaterThanOrEqual(1000);
    expect(w.cacheWrite5mTokens + w.cacheWrite1hTokens).toBe(0);
  });

  it('counts a base64 image by its pixels, not its bytes', () => {
    const image = {
      type: 'image',
      source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(3_000_000) },
    };
    const body = { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: [image] }] };
    const w = worstCaseUsage(body, size(body));
    expect(w.inputTokens).toBeGreaterThan(1000);
    expect(w.inputTokens).toBeLessThan(10_000);
  });

  it('counts PDF pages', () => {
    const pdf = Buffer.from('%PDF-1.7 /Type /Pages /Type /Page /Type /Page /Type /Page').toString('base64');
    const doc = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf } };
    const body = { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: [doc] }] };
    expect(worstCaseUsage(body, size(body)).inputTokens).toBeGreaterThanOrEqual(30_000);
  });

  it('prices the prompt as cache writes when the request asks for caching', () => {
    const system = [{ type: 'text', text: 'rules', cache_control: { type: 'ephemeral', ttl: '1h' } }];
    const body = { model: 'm', max_tokens: 10, system, messages: [{ role: 'user', content: 'hi' }] };
    const w = worstCaseUsage(body, size(body));
    expect(w.inputTokens).toBe(0);
    expect(w.cacheWrite1hTokens).toBeGreaterThan(0);
  });

  it('adds the tool-use system prompt and the web searches a request allows', () => {
    const tools = [{ type: 'web_search_20250305', name: 'web_search', max_uses: 4 }];
    const body = { model: 'm', max_tokens: 10, tools, messages: [{ role: 'user', content: 'hi' }] };
    const w = worstCaseUsage(body, size(body));
    expect(w.inputTokens).toBeGreaterThan(1000);
    expect(w.webSearchRequests).toBe(4);
  });
});

describe('server tools', () => {
  const ask = (tools: unknown[], extra: Record<string, unknown> = {}) => ({
    model: 'm',
    max_tokens: 100,
    tools,
    messages: [{ role: 'user', content: 'hi' }],
    ...extra,
  });

  it('bills each allowed search its fee, one more pass over the prompt and its results in every later pass', () => {
    const body = ask([{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }]);
    const bytes = size(body);
    const base = Math.ceil(bytes / 3) + 1000;
    const w = worstCaseUsage(body, bytes);
    expect(w.webSearchRequests).toBe(3);
    expect(w.inputTokens).toBe(base * 4 + 3 * SEARCH_RESULT_TOKENS * 3);
    expect(w.outputTokens).toBe(100);
  });

  it('counts a fetch by its max_content_tokens', () => {
    const body = ask([
      { type: 'web_fetch_20250910', name: 'web_fetch', max_uses: 2, max_content_tokens: 5000 },
    ]);
    const bytes = size(body);
    const base = Math.ceil(bytes / 3) + 1000;
    expect(worstCaseUsage(body, bytes).inputTokens).toBe(base * 3 + 10_000 * 2);
    expect(serverToolsOf(body)).toEqual({
      searchUses: 0,
      fetchUses: 2,
      fetchTokens: 10_000,
      unbounded: null,
    });
  });

  it.each([
    [[{ type: 'web_search_20250305', name: 'web_search' }], {}, /web_search_20250305 tool needs max_uses/],
    [[{ type: 'web_fetch_20250910', name: 'web_fetch', max_uses: 2 }], {}, /max_content_tokens/],
    [[{ type: 'code_execution_20250825', name: 'code_execution' }], {}, /container time/],
    [[], { mcp_servers: [{ type: 'url', url: 'https://example.com/mcp', name: 'x' }] }, /MCP/],
  ])('cannot bound %j %j', (tools, extra, why) => {
    expect(serverToolsOf(ask(tools, extra)).unbounded).toMatch(why);
  });

  it('leaves client tools alone', () => {
    const body = ask([
      { name: 'write_file', input_schema: { type: 'object' } },
      { type: 'bash_20250124', name: 'bash' },
    ]);
    expect(serverToolsOf(body)).toEqual({ searchUses: 0, fetchUses: 0, fetchTokens: 0, unbounded: null });
  });
});
