import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type TestGateway } from '../../test/harness.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await startGateway();
});
afterEach(() => gw.close());

type Event = { type: string; [key: string]: unknown };

/** A connected client that collects every event it is sent. */
async function connect(options: { headers?: Record<string, string>; protocols?: string[] } = {}) {
  const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, options.protocols ?? [], {
    headers: options.headers ?? { authorization: `Bearer ${gw.token}` },
  });
  const events: Event[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data) => {
    events.push(JSON.parse(String(data)));
    for (const wake of waiters.splice(0)) wake();
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const next = async (type: string): Promise<Event> => {
    for (;;) {
      const found = events.find((e) => e.type === type);
      if (found) {
        events.splice(events.indexOf(found), 1);
        return found;
      }
      await new Promise<void>((resolve, reject) => {
        waiters.push(resolve);
        setTimeout(() => reject(new Error(`no ${type} event`)), 3_000);
      });
    }
  };
  return { ws, next };
}

/** The HTTP status the server refused an upgrade with. */
function refusal(options: { headers?: Record<string, string>; protocols?: string[] }): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, options.protocols ?? [], {
      headers: options.headers,
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => {});
  });
}

describe('/ws', () => {
  it('refuses an upgrade without the token or with a wrong one', async () => {
    expect(await refusal({})).toBe(401);
    expect(await refusal({ headers: { authorization: 'Bearer mxi_wrong-token-0123456789abcdef' } })).toBe(
      401,
    );
    expect(await refusal({ protocols: ['matrixos', 'matrixos.bearer.mxi_wrong-token-0123456789'] })).toBe(
      401,
    );
  });

  it('greets the owner, then pushes inbox messages and file changes as they happen', async () => {
    const { ws, next } = await connect();
    expect(await next('ready')).toMatchObject({ handle: 'owner' });

    const sent = await (
      await gw.api('/api/message', { method: 'POST', body: JSON.stringify({ text: 'hello', from: 'bob' }) })
    ).json();
    expect(await next('inbox.message')).toEqual({
      type: 'inbox.message',
      message: { id: sent.id, text: 'hello', from: 'bob', receivedAt: sent.receivedAt },
    });

    await gw.api('/files/notes/a.md', { method: 'PUT', body: 'a' });
    expect(await next('files.changed')).toEqual({
      type: 'files.changed',
      path: 'notes/a.md',
      action: 'created',
    });
    await gw.api('/files/notes/a.md', { method: 'PUT', body: 'b' });
    expect(await next('files.changed')).toMatchObject({ path: 'notes/a.md', action: 'updated' });
    await gw.api('/files/notes/a.md', { method: 'DELETE' });
    expect(await next('files.changed')).toMatchObject({ path: 'notes/a.md', action: 'deleted' });
    ws.close();
  });

  it('lets a browser authenticate with a subprotocol, and never echoes the token back', async () => {
    const { ws, next } = await connect({
      headers: {},
      protocols: ['matrixos', `matrixos.bearer.${gw.token}`],
    });
    expect(ws.protocol).toBe('matrixos');
    expect(await next('ready')).toBeTruthy();
    ws.close();
  });

  it('answers pings, reports bad messages, and counts client messages as activity', async () => {
    const { ws, next } = await connect();
    await next('ready');
    const before = (await (await fetch(`${gw.url}/health`)).json()).lastActivity;
    await new Promise((r) => setTimeout(r, 20));

    ws.send(JSON.stringify({ type: 'ping' }));
    expect(await next('pong')).toMatchObject({ time: expect.any(String) });
    ws.send('not json');
    expect(await next('error')).toMatchObject({ code: 'invalid_json' });
    ws.send(JSON.stringify({ type: 'format-disk' }));
    expect(await next('error')).toMatchObject({ code: 'unknown_type' });

    const after = (await (await fetch(`${gw.url}/health`)).json()).lastActivity;
    expect(Date.parse(after)).toBeGreaterThan(Date.parse(before));
    ws.close();
  });

  it('closes open sockets with 1001 when the gateway shuts down', async () => {
    const { ws, next } = await connect();
    await next('ready');
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    expect(await gw.running.shutdown(2_000)).toBe('drained');
    expect(await closed).toBe(1001);
  });
});
