import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock, startGateway, type TestGateway } from '../../test/harness.ts';
import { connectSocket, refusal } from '../../test/socket.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await startGateway();
});
afterEach(() => gw.close());

describe('/ws', () => {
  it('refuses an upgrade without the token or with a wrong one', async () => {
    expect(await refusal(gw, {})).toBe(401);
    expect(await refusal(gw, { headers: { authorization: 'Bearer mxi_wrong-token-0123456789abcdef' } })).toBe(
      401,
    );
    expect(await refusal(gw, { protocols: ['matrixos', 'matrixos.bearer.mxi_wrong-token-0123456789'] })).toBe(
      401,
    );
  });

  it('greets the owner, then pushes inbox messages and file changes as they happen', async () => {
    const { ws, next } = await connectSocket(gw);
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
    const { ws, next } = await connectSocket(gw, {
      headers: {},
      protocols: ['matrixos', `matrixos.bearer.${gw.token}`],
    });
    expect(ws.protocol).toBe('matrixos');
    expect(await next('ready')).toBeTruthy();
    ws.close();
  });

  it('answers pings, reports bad messages, and counts client messages as activity', async () => {
    // The clock moves only here: the ping is what makes the new activity time.
    const clock = manualClock();
    const own = await startGateway({}, { now: clock.now });
    const { ws, next } = await connectSocket(own);
    await next('ready');
    const lastActivity = async () => (await (await fetch(`${own.url}/health`)).json()).lastActivity;
    const before = await lastActivity();
    clock.advance(60_000);

    ws.send(JSON.stringify({ type: 'ping' }));
    expect(await next('pong')).toMatchObject({ time: expect.any(String) });
    expect(Date.parse(await lastActivity())).toBe(Date.parse(before) + 60_000);
    ws.send('not json');
    expect(await next('error')).toMatchObject({ code: 'invalid_json' });
    ws.send(JSON.stringify({ type: 'format-disk' }));
    expect(await next('error')).toMatchObject({ code: 'unknown_type' });
    ws.send(JSON.stringify({ type: 'chat.cancel', conversationId: '../../etc' }));
    expect(await next('error')).toMatchObject({
      code: 'invalid_message',
      message: 'conversationId: is not a conversation id',
    });
    ws.send(JSON.stringify({ type: 'chat.send', text: 'x'.repeat(20_001) }));
    expect(await next('error')).toMatchObject({
      code: 'invalid_message',
      message: /text: must be at most 20000/,
    });

    ws.close();
    await own.close();
  });

  it('closes open sockets with 1001 when the gateway shuts down', async () => {
    const { ws, next } = await connectSocket(gw);
    await next('ready');
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    expect(await gw.running.shutdown(2_000)).toBe('drained');
    expect(await closed).toBe(1001);
  });
});
