import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { type CookieClient, createCookieClient, signUpWithTotp } from './cookieClient.ts';
import { startTestPlatform, type TestPlatform } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));

/**
 * Issue 7 §5: what ends access ends the WebSockets it opened, at once: a sign-out, a demotion. (The two-tab "sign out everywhere" in Chromium is in browser/.)
 */
describe('revocation closes open instance sockets', () => {
  let t: TestPlatform;

  async function signUp(handle: string): Promise<CookieClient> {
    const client = createCookieClient(t.port);
    await signUpWithTotp(client, handle);
    await vi.waitFor(
      async () => {
        const r = await t.admin('GET', `/containers/${handle}`);
        expect(r.json<{ instance?: { state: string } }>().instance?.state).toBe('running');
      },
      { timeout: 20_000, interval: 100 },
    );
    return client;
  }

  /** Opens `handle`'s instance through the bridge and its WebSocket with the session cookie. */
  async function openSocket(client: CookieClient, handle: string, via = '/me/instance/open') {
    const r = await client.cp(via, { method: 'POST' });
    expect(r.status).toBe(200);
    const url = new URL(r.json<{ url: string }>().url);
    expect(url.host).toBe(`${handle}.localhost:${t.port}`);
    expect((await client.to(url.host, `${url.pathname}${url.search}`)).status).toBe(303);
    const session = client.cookies(url.host).get('mx_pass');
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/ws`, {
      headers: { host: url.host, origin: `http://${url.host}`, cookie: `mx_pass=${session}` },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    return { ws, closed };
  }

  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'process', command: [process.execPath, FIXTURE] });
  });
  afterAll(() => t?.destroy());

  it('a sign-out closes the sockets of that session, with a close frame saying why', async () => {
    const una = await signUp('una');
    const { closed } = await openSocket(una, 'una');
    expect((await una.cp('/auth/logout', { method: 'POST' })).status).toBeLessThan(300);
    expect(await closed).toEqual({ code: 1008, reason: 'session revoked' });
  });

  it('a sign-out everywhere ends the event streams a browser had open through the session', async () => {
    const vera = await signUp('vera');
    const r = await vera.cp('/me/instance/open', { method: 'POST' });
    const url = new URL(r.json<{ url: string }>().url);
    await vera.to(url.host, `${url.pathname}${url.search}`);
    const cookie = `mx_pass=${vera.cookies(url.host).get('mx_pass')}`;
    const ended = await new Promise<{ events: number; how: string }>((resolve, reject) => {
      let events = 0;
      const req = http.get(
        { host: '127.0.0.1', port: t.port, path: '/sse?n=1000', headers: { host: url.host, cookie } },
        (res) => {
          expect(res.statusCode).toBe(200);
          res.on('data', () => {
            if (events++ === 0) void vera.cp('/auth/logout-all', { method: 'POST' });
          });
          res.on('end', () => resolve({ events, how: 'end' }));
          res.on('error', () => resolve({ events, how: 'cut' }));
          res.on('aborted', () => resolve({ events, how: 'cut' }));
        },
      );
      req.on('error', reject);
    });
    expect(ended.how).toBe('cut');
    expect(ended.events).toBeLessThan(1000);
  });

  it("a demotion closes an admin's sockets to other people's instances, not to their own", async () => {
    const owner = await signUp('olga');
    const boss = await signUp('boss');
    expect((await t.admin('PUT', '/admin/users/boss/role', { role: 'admin' })).status).toBe(200);
    const intoOlgas = await openSocket(boss, 'olga', '/admin/instances/olga/open');
    const intoOwn = await openSocket(boss, 'boss');
    const olgasOwn = await openSocket(owner, 'olga');
    expect((await t.admin('PUT', '/admin/users/boss/role', { role: 'user' })).status).toBe(200);
    expect(await intoOlgas.closed).toEqual({ code: 1008, reason: 'access revoked' });
    // Still open: a message goes through and is echoed.
    for (const { ws } of [intoOwn, olgasOwn]) {
      const echo = new Promise<string>((resolve) =>
        ws.on('message', (d) => {
          if (d.toString().startsWith('echo:')) resolve(d.toString());
        }),
      );
      ws.send('still here');
      expect(await echo).toBe('echo:still here');
      ws.close();
    }
  });
});
