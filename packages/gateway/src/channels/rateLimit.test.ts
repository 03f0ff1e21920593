import { createLogger, errorHandler } from '@matrixos/shared';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { rateLimit } from './rateLimit.ts';

describe('rateLimit', () => {
  it('lets max requests through per window, then answers 429 with Retry-After until the window turns', async () => {
    let now = 1_000_000;
    const app = new Hono();
    app.onError(errorHandler(createLogger('test', 'silent')));
    app.post(
      '/x',
      rateLimit(3, 60_000, () => now),
      (c) => c.json({}),
    );
    const hit = async () => (await app.request('/x', { method: 'POST' })).status;
    expect([await hit(), await hit(), await hit()]).toEqual([200, 200, 200]);
    const refused = await app.request('/x', { method: 'POST' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect((await refused.json()).error.code).toBe('rate_limited');
    now += 59_999;
    expect(await hit()).toBe(429);
    now += 1;
    expect(await hit()).toBe(200);
  });
});
