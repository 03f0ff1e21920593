import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestPlatform, type TestPlatform } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));

/** Router behaviour that needs no Docker: instances are fixture processes that expose what they receive. */
describe('router', () => {
  let t: TestPlatform;
  let aliceToken: string;

  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'process', command: [process.execPath, FIXTURE] });
    aliceToken = await t.provision('alice');
    await t.provision('bob');
  });
  afterAll(() => t?.destroy());

  it('routes by Host to the right instance, and by /proxy/:handle', async () => {
    expect((await t.instance('alice', { path: '/health' })).json().handle).toBe('alice');
    expect((await t.instance('bob', { path: '/health' })).json().handle).toBe('bob');
    const viaPath = await t.request({
      path: '/proxy/bob/headers?q=1',
      headers: { authorization: `Bearer ${t.tokenOf('bob')}` },
    });
    expect(viaPath.json<{ url: string; headers: Record<string, string> }>()).toMatchObject({
      url: '/headers?q=1',
      headers: { 'x-forwarded-prefix': '/proxy/bob' },
    });
  });

  it("redirects /proxy/{handle} to /proxy/{handle}/ for API clients, so the instance page's relative links work", async () => {
    const r = await t.request({
      path: '/proxy/bob?tab=chat',
      headers: { authorization: `Bearer ${t.tokenOf('bob')}` },
    });
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('/proxy/bob/?tab=chat');
  });

  it("sends everyone without the instance's token from /proxy/{handle}/... to the instance's own host", async () => {
    const variants: Record<string, string>[] = [
      {},
      { accept: 'text/html' },
      { authorization: `Bearer ${aliceToken}` },
    ];
    for (const headers of variants) {
      const r = await t.request({ path: '/proxy/bob/files/a.txt?x=1', headers });
      expect(r.status).toBe(307);
      expect(r.headers.location).toBe(`http://bob.localhost:${t.port}/files/a.txt?x=1`);
      expect(r.text).toBe('');
    }
    const bare = await t.request({ path: '/proxy/bob?tab=chat' });
    expect(bare.headers.location).toBe(`http://bob.localhost:${t.port}/?tab=chat`);
  });

  it('answers an unknown handle with a clear 404, JSON for APIs and a page for browsers', async () => {
    const api = await t.instance('nobody');
    expect(api.status).toBe(404);
    expect(api.json()).toEqual({ error: { code: 'not_found', message: 'no instance "nobody"' } });
    const page = await t.instance('nobody', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(404);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.text).toContain('No instance called “nobody”');
  });

  it('sets X-Forwarded-*, drops spoofed ones and hop-by-hop headers', async () => {
    const r = await t.instance('alice', {
      path: '/headers',
      headers: {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil.example',
        connection: 'keep-alive, x-secret-hop',
        'x-secret-hop': 'must not pass',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        te: 'trailers',
      },
    });
    const { headers } = r.json<{ headers: Record<string, string> }>();
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['x-forwarded-host']).toBe(`alice.localhost:${t.port}`);
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-secret-hop']).toBeUndefined();
    expect(headers['proxy-authorization']).toBeUndefined();
    expect(headers.te).toBeUndefined();
  });

  it('passes the instance token through, and refuses any other (the admin token included) before forwarding', async () => {
    const own = await t.instance('alice', {
      path: '/headers',
      headers: { authorization: `Bearer ${aliceToken}` },
    });
    expect(own.json<{ headers: Record<string, string> }>().headers.authorization).toBe(
      `Bearer ${aliceToken}`,
    );
    for (const authorization of [
      `Bearer ${t.adminToken}`,
      `Bearer ${t.tokenOf('bob')}`,
      `Bearer ${aliceToken}x`,
    ]) {
      const r = await t.instance('alice', { path: '/headers', headers: { authorization } });
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toContain('Bearer');
      expect(r.text).not.toContain('headers'); // the instance never answered
    }
  });

  it('lets anonymous callers see /health of a running instance, and nothing else', async () => {
    expect((await t.instance('alice', { path: '/health', anonymous: true })).json()).toMatchObject({
      status: 'ok',
      handle: 'alice',
    });
    const r = await t.instance('alice', { path: '/headers', anonymous: true });
    expect(r.status).toBe(401);
    expect(r.json<{ error: { code: string } }>().error.code).toBe('unauthorized');
    const browser = await t.instance('alice', {
      path: '/',
      anonymous: true,
      headers: { accept: 'text/html' },
    });
    expect(browser.status).toBe(302);
    // Through the control plane for a pass (which signs in first when need be), back to `/`.
    expect(browser.headers.location).toBe(`http://localhost:${t.port}/open/alice?next=%2F`);
  });

  it('keeps repeated response headers (two Set-Cookie stay two)', async () => {
    const r = await t.instance('alice', { path: '/cookies' });
    expect(r.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
  });

  it('streams server-sent events as they happen, not at the end', async () => {
    const arrivals: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = http.get(
        {
          host: '127.0.0.1',
          port: t.port,
          path: '/sse',
          headers: { host: `alice.localhost:${t.port}`, authorization: `Bearer ${aliceToken}` },
        },
        (res) => {
          expect(res.headers['content-type']).toBe('text/event-stream');
          res.on('data', (chunk: Buffer) => {
            for (const _ of chunk.toString().matchAll(/^data: /gm)) arrivals.push(Date.now());
          });
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
    });
    expect(arrivals).toHaveLength(3);
    // The instance writes them 300 ms apart; a buffering proxy would deliver them together.
    expect(arrivals[2]! - arrivals[0]!).toBeGreaterThan(400);
  });

  it('streams request bodies to the instance as they are sent', async () => {
    const reply = await new Promise<{ arrivals: number[] }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: t.port,
          method: 'POST',
          path: '/upload',
          headers: {
            host: `alice.localhost:${t.port}`,
            'transfer-encoding': 'chunked',
            authorization: `Bearer ${aliceToken}`,
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve(JSON.parse(text)));
        },
      );
      req.on('error', reject);
      req.write('first chunk');
      setTimeout(() => req.write('second chunk'), 400);
      setTimeout(() => req.end('last chunk'), 800);
    });
    expect(reply.arrivals.length).toBeGreaterThanOrEqual(3);
    expect(reply.arrivals.at(-1)! - reply.arrivals[0]!).toBeGreaterThan(500);
  });

  it('relays WebSockets both ways, with the instance credentials the client sent', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/ws`, {
      headers: { host: `alice.localhost:${t.port}`, authorization: `Bearer ${aliceToken}` },
    });
    const messages: string[] = [];
    ws.on('message', (d) => messages.push(d.toString()));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send('ping');
    await expect.poll(() => messages.length).toBe(2);
    expect(JSON.parse(messages[0]!)).toEqual({ hello: 'alice', authorization: `Bearer ${aliceToken}` });
    expect(messages[1]).toBe('echo:ping');
    ws.close();
  });

  it('counts an open WebSocket as activity until it closes', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/ws`, {
      headers: { host: `bob.localhost:${t.port}`, authorization: `Bearer ${t.tokenOf('bob')}` },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    expect(t.platform.activity.openCount('bob')).toBe(1);
    ws.close();
    await expect.poll(() => t.platform.activity.openCount('bob')).toBe(0);
  });

  it('refuses a WebSocket without the instance token, before the instance sees it', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/ws`, {
      headers: { host: `alice.localhost:${t.port}` },
    });
    const err = await new Promise<Error>((resolve) => ws.once('error', resolve));
    expect(err.message).toContain('401');
  });

  it('refuses a WebSocket to an unknown handle', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/ws`, {
      headers: { host: `nobody.localhost:${t.port}` },
    });
    const err = await new Promise<Error>((resolve) => ws.once('error', resolve));
    expect(err.message).toContain('404');
  });
});
