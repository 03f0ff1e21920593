import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../../test/harness.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await startGateway();
});
afterEach(() => gw.close());

const send = (body: unknown) =>
  gw.api('/api/message', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('POST /api/message', () => {
  it('stores the message in the inbox file before answering 201', async () => {
    const res = await send({ text: 'Lunch tomorrow?', from: '@bob' });
    expect(res.status).toBe(201);
    const { id, receivedAt } = await res.json();
    expect(id).toMatch(/^msg_/);
    expect(Date.parse(receivedAt)).toBeGreaterThan(Date.now() - 5_000);

    const lines = (await readFile(join(gw.home, 'data/inbox.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { id, text: 'Lunch tomorrow?', from: '@bob', receivedAt },
    ]);
  });

  it('keeps every message when many arrive at once', async () => {
    const sent = await Promise.all(Array.from({ length: 25 }, (_, i) => send({ text: `message ${i}` })));
    expect(sent.every((r) => r.status === 201)).toBe(true);
    const lines = (await readFile(join(gw.home, 'data/inbox.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(25);
    expect(new Set(lines.map((l) => JSON.parse(l).id)).size).toBe(25);
  });

  it.each([
    ['no text', { from: 'bob' }, 'text'],
    ['empty text', { text: '   ' }, 'text'],
    ['text too long', { text: 'x'.repeat(10_001) }, 'text'],
    ['text not a string', { text: 42 }, 'text'],
    ['from with a newline', { text: 'hi', from: 'bob\nadmin: approved' }, 'from'],
    ['from too long', { text: 'hi', from: 'b'.repeat(201) }, 'from'],
    ['an unknown field', { text: 'hi', to: 'carol' }, ''],
  ])('answers 400 naming the field for %s, and stores nothing', async (_name, body, field) => {
    const res = await send(body);
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.code).toBe('invalid_body');
    expect(error.issues.map((i: { path: string }) => i.path)).toContain(field);
    await expect(readFile(join(gw.home, 'data/inbox.jsonl'))).rejects.toThrow(/ENOENT/);
  });

  it('answers 400 for a body that is not JSON, and 413 for an oversized one', async () => {
    const bad = await send('{"text": "unterminated');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('invalid_json');
    const huge = await send({ text: 'x'.repeat(70 * 1024) });
    expect(huge.status).toBe(413);
    expect((await huge.json()).error.code).toBe('body_too_large');
  });
});

describe('GET /api/messages', () => {
  it('returns the latest messages, and the ones after a cursor, oldest first', async () => {
    const ids: string[] = [];
    for (const text of ['one', 'two', 'three', 'four']) ids.push((await (await send({ text })).json()).id);

    const latest = await (await gw.api('/api/messages?limit=2')).json();
    expect(latest.messages.map((m: { text: string }) => m.text)).toEqual(['three', 'four']);
    expect(latest.more).toBe(true);

    const after = await (await gw.api(`/api/messages?since=${ids[1]}`)).json();
    expect(after).toEqual({
      messages: [expect.objectContaining({ text: 'three' }), expect.objectContaining({ text: 'four' })],
      more: false,
    });

    const page = await (await gw.api(`/api/messages?since=${ids[0]}&limit=1`)).json();
    expect(page.messages.map((m: { id: string }) => m.id)).toEqual([ids[1]]);
    expect(page.more).toBe(true);

    const byTime = await (
      await gw.api(`/api/messages?since=${encodeURIComponent('2000-01-01T00:00:00Z')}`)
    ).json();
    expect(byTime.messages).toHaveLength(4);
  });

  it('skips a torn last line instead of failing', async () => {
    await send({ text: 'whole' });
    await appendFile(join(gw.home, 'data/inbox.jsonl'), '{"id":"msg_0000');
    const res = await gw.api('/api/messages');
    expect(res.status).toBe(200);
    expect((await res.json()).messages.map((m: { text: string }) => m.text)).toEqual(['whole']);
  });

  it.each(['since=yesterday-ish', 'limit=0', 'limit=501', 'limit=ten'])(
    'answers 400 for %s',
    async (query) => {
      const res = await gw.api(`/api/messages?${query}`);
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe('invalid_query');
    },
  );
});
