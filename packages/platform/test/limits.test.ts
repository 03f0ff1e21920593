import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeDriver } from '../src/runtime/driver.ts';
import { startTestPlatform, type TestPlatform } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));
const MiB = 1024 * 1024;

/** Sends a `size`-byte POST as fast as the server takes it; resolves with the status (or 0 if cut first). */
function bigPost(
  port: number,
  path: string,
  size: number,
  chunked: boolean,
): Promise<{ status: number; sent: number }> {
  const chunk = Buffer.alloc(MiB, 0x7b); // one buffer, written again and again: the client holds 1 MiB
  return new Promise((resolve) => {
    let sent = 0;
    let status = 0;
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path,
      headers: {
        host: `localhost:${port}`,
        origin: `http://localhost:${port}`,
        'content-type': 'application/json',
        ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(size) }),
      },
    });
    req.on('response', (res) => {
      status = res.statusCode ?? 0;
      res.resume();
      req.destroy();
      resolve({ status, sent });
    });
    req.on('error', () => resolve({ status, sent }));
    const pump = () => {
      while (sent < size && !req.destroyed) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!req.destroyed) req.end();
    };
    pump();
  });
}

/** A raw connection that sends `lines` one at a time, `everyMs` apart; resolves when the server closes it. */
function trickle(port: number, first: string, line: string, everyMs: number): Promise<{ got: string }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      socket.write(first);
      timer = setInterval(() => socket.write(line), everyMs);
    });
    socket.on('data', (d) => {
      got += d;
    });
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ got });
    });
    socket.on('error', () => undefined);
  });
}

/**
 * Issue 7 §3 on the platform: limits before reading. Body sizes per route (413 JSON before the
 * body is buffered), a bound on headers, deadlines for slow headers and slow control-plane
 * bodies (while an instance's own long uploads still stream), and `GET /health` answered from the
 * platform's own state.
 */
describe('limits before reading', () => {
  let t: TestPlatform;
  let listCalls = 0;
  let engineFails = false;

  beforeAll(async () => {
    const count = (d: RuntimeDriver): RuntimeDriver =>
      new Proxy(d, {
        get(target, prop, receiver) {
          if (prop === 'list')
            return () => {
              listCalls++;
              return engineFails ? Promise.reject(new Error('engine down')) : target.list();
            };
          const v = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    t = await startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      wrapRuntime: count,
      env: { HEADERS_TIMEOUT: '1s', BODY_TIMEOUT: '1s' },
    });
    await t.provision('alice');
    await t.reconciled;
  });
  afterAll(() => t?.destroy());
  const origin = () => ({ origin: `http://localhost:${t.port}` });

  it.each([
    ['Content-Length', false],
    ['chunked', true],
  ])('refuses a 700 MiB POST to /auth/login/options (%s) with 413, memory flat', async (_, chunked) => {
    global.gc?.();
    const before = process.memoryUsage().rss;
    const r = await bigPost(t.port, '/auth/login/options', 700 * MiB, chunked);
    const after = process.memoryUsage().rss;
    expect(r.status).toBe(413);
    // What this process (platform and client) holds is not the body: well under 700 MiB.
    expect(after - before).toBeLessThan(64 * MiB);
  });

  it('answers 413 with the JSON error shape and the limit', async () => {
    const r = await t.request({
      method: 'POST',
      path: '/auth/login/options',
      headers: origin(),
      body: { handle: 'a'.repeat(4000) },
    });
    expect(r.status).toBe(413);
    expect(r.json()).toEqual({
      error: {
        code: 'body_too_large',
        message: 'the request body is larger than this endpoint accepts (1024 bytes)',
        limitBytes: 1024,
      },
    });
  });

  it('keeps larger limits where a route needs them (a WebAuthn response), smaller everywhere else', async () => {
    const big = { id: 'x', response: { clientDataJSON: 'a'.repeat(8000) } };
    const post = (path: string) => t.request({ method: 'POST', path, headers: origin(), body: big });
    expect((await post('/auth/login/passkey')).status).not.toBe(413);
    expect((await post('/auth/login/totp')).status).toBe(413);
    const admin = await t.request({
      method: 'PUT',
      path: '/admin/users/alice/role',
      headers: { authorization: `Bearer ${t.adminToken}` },
      body: { role: 'a'.repeat(2000) },
    });
    expect(admin.status).toBe(413);
  });

  it('refuses headers over the bound with 431', async () => {
    const r = await t.request({ path: '/health', headers: { 'x-big': 'a'.repeat(32 * 1024) } });
    expect(r.status).toBe(431);
  });

  it('cuts a slowloris client that never finishes its headers', async () => {
    const { got } = await trickle(t.port, 'GET /health HTTP/1.1\r\nHost: localhost\r\n', 'X-A: b\r\n', 200);
    expect(got).not.toContain('200 OK');
  });

  it('cuts a control-plane body that trickles in', async () => {
    const { got } = await trickle(
      t.port,
      `POST /auth/login/options HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost:${t.port}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{`,
      ' ',
      200,
    );
    expect(got).toContain('408');
    expect(got).toContain('request_timeout');
  });

  it("still streams an instance's slow upload, longer than the control plane's deadline", async () => {
    const reply = await new Promise<{ status: number; arrivals: number[] }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: t.port,
          method: 'POST',
          path: '/upload',
          headers: {
            host: `alice.localhost:${t.port}`,
            'transfer-encoding': 'chunked',
            authorization: `Bearer ${t.tokenOf('alice')}`,
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, ...JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      let n = 0;
      const timer = setInterval(() => {
        req.write(`chunk ${n}`);
        if (++n === 5) {
          clearInterval(timer);
          req.end();
        }
      }, 600);
    });
    expect(reply.status).toBe(200);
    expect(reply.arrivals.length).toBeGreaterThanOrEqual(5);
  });

  it('answers 50 concurrent anonymous GET /health without one engine call', async () => {
    t.platform.engineStatus.stop(); // no timer tick during the count
    listCalls = 0;
    const replies = await Promise.all(Array.from({ length: 50 }, () => t.request({ path: '/health' })));
    expect(replies.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(listCalls).toBe(0);
  });

  it("reports the engine's health as last refreshed (by the timer or the engine's events)", async () => {
    engineFails = true;
    await t.platform.engineStatus.refresh();
    const down = await t.request({ path: '/health' });
    expect(down.status).toBe(503);
    expect(down.json()).toMatchObject({ status: 'degraded', runtime: { ok: false, error: 'engine down' } });
    engineFails = false;
    await t.platform.engineStatus.refresh();
    expect((await t.request({ path: '/health' })).status).toBe(200);
  });
});
