import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { limitBody } from './limitBody.ts';

describe('limitBody', () => {
  const app = new Hono().post('/', limitBody(16), async (c) => c.text(await c.req.text()));

  it('passes a body within the limit', async () => {
    const res = await app.request('/', { method: 'POST', body: '0123456789abcdef' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('0123456789abcdef');
  });

  it('refuses a declared oversize body with 413 JSON naming the limit', async () => {
    const res = await app.request('/', { method: 'POST', body: 'x'.repeat(17) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'body_too_large', limitBytes: 16 } });
  });

  it('refuses a chunked body once it passes the limit', async () => {
    const body = new ReadableStream({
      start(ctl) {
        for (let i = 0; i < 4; i++) ctl.enqueue(new TextEncoder().encode('0123456789'));
        ctl.close();
      },
    });
    const res = await app.request('/', { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
  });
});
