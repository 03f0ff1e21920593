import { readdir } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../test/harness.ts';
import { connectSocket } from '../test/socket.ts';

// Short timeouts, so that a test sees the server cut a slow client; the production values are
// in SERVER_LIMITS (server.ts).
const LIMITS = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 400,
  requestTimeoutMs: 800,
  checkIntervalMs: 50,
};

let gw: TestGateway;
beforeEach(async () => {
  gw = await startGateway({}, { limits: LIMITS });
});
afterEach(() => gw.close());

/** A raw connection that writes `head` and then stalls; resolves with all it got once closed. */
function stall(head: string): { socket: Socket; answer: Promise<string> } {
  const { hostname, port } = new URL(gw.url);
  const socket = connect(Number(port), hostname);
  socket.write(head);
  const answer = new Promise<string>((resolve) => {
    let got = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      got += chunk;
    });
    socket.on('close', () => resolve(got));
    socket.on('error', () => undefined);
  });
  return { socket, answer };
}

describe('the gateway server', () => {
  it('answers a request head over 16 KiB with 431 before any route runs', async () => {
    const res = await gw.api('/api/system/info', { headers: { 'x-padding': 'p'.repeat(32 * 1024) } });
    expect(res.status).toBe(431);
  });

  it('cuts a client that never finishes its headers (408, connection closed)', async () => {
    const { answer } = stall(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `);
    expect(await answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('cuts a client that sends its body too slowly, and leaves no file behind', async () => {
    const before = await readdir(gw.home);
    const { answer } = stall(
      `PUT /files/slow.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${gw.token}\r\n` +
        'Content-Length: 1000\r\n\r\nonly the start',
    );
    expect(await answer).toMatch(/^HTTP\/1\.1 408 /);
    // The upload's temp file goes once the route sees the body end (the close above starts it).
    await expect.poll(() => readdir(gw.home), { timeout: 5_000 }).toEqual(before);
  });

  it('keeps an open WebSocket working after the request timeouts have cut other clients', async () => {
    const socket = await connectSocket(gw);
    await socket.next('ready');
    // The server's timeout check has run (it cut this slow client) since the socket opened,
    // longer ago than the request timeout by the time the answer comes.
    const { answer } = stall(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    expect(await answer).toMatch(/^HTTP\/1\.1 408 /);
    const { answer: second } = stall(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    expect(await second).toMatch(/^HTTP\/1\.1 408 /);
    socket.send({ type: 'ping' });
    expect(await socket.next('pong')).toMatchObject({ type: 'pong' });
    socket.close();
  });

  it.each([
    ['POST', '/api/session'],
    ['PUT', '/api/settings'],
    ['PUT', '/api/settings/anthropic-key'],
    ['POST', '/api/message'],
  ])('refuses an oversized body on %s %s with 413 JSON before reading it', async (method, path) => {
    const res = await gw.api(path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('body_too_large');
  });
});
