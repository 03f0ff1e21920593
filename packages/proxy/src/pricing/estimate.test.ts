import { describe, expect, it } from 'vitest';
import { worstCaseUsage } from './estimate.ts';

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
