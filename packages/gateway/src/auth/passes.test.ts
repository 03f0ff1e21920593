import { INSTANCE_REFRESH_PATH } from '@matrixos/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock, startGateway, type TestGateway } from '../../test/harness.ts';
import { ANN_HOST, FROM_ANN, pageLoad, passCookie, startPlatformGateway } from '../../test/pass.ts';
import { connectSocket, refusal } from '../../test/socket.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await startPlatformGateway();
});
afterEach(() => gw.close());

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(gw.url + path, { headers, redirect: 'manual' });
const post = (headers: Record<string, string>) =>
  fetch(`${gw.url}/api/message`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ text: 'hello' }),
  });
const refreshTo = (next: string) => `${INSTANCE_REFRESH_PATH}?next=${encodeURIComponent(next)}`;

/** A refused pass: a script's fetch gets a 401 with this code, a page load goes through the platform. */
async function expectRefused(cookie: string, code: 'unauthorized' | 'pass_expired'): Promise<void> {
  const api = await get('/api/session', { cookie });
  expect(api.status).toBe(401);
  expect(api.headers.get('www-authenticate')).toBe('Bearer realm="matrixos"');
  expect((await api.json()).error.code).toBe(code);
  const page = await pageLoad(gw, '/files/notes?sort=name&q=a%2Fb', { cookie });
  expect(page.status).toBe(302);
  expect(page.headers.location).toBe(refreshTo('/files/notes?sort=name&q=a%2Fb'));
  expect(page.headers['cache-control']).toBe('no-store');
  expect(await refusal(gw, { headers: { cookie, ...FROM_ANN } })).toBe(401);
}

describe('instance passes (platform mode)', () => {
  it("opens the owner's routes with a pass the platform signed for this instance and host", async () => {
    const cookie = await passCookie(gw, { role: 'admin' });
    const session = await get('/api/session', { cookie });
    expect(session.status).toBe(200);
    expect(await session.json()).toMatchObject({ handle: 'ann', mode: 'platform', via: 'pass' });
    expect((await get('/files/system/profile.md', { cookie })).status).toBe(200);
    const page = await get('/', { cookie, accept: 'text/html' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>@ann · Matrix OS</title>');
    // The shell's own writes and its WebSocket, from the instance's own origin.
    expect((await post({ cookie, ...FROM_ANN })).status).toBe(201);
    const socket = await connectSocket(gw, { headers: { cookie, ...FROM_ANN } });
    expect(await socket.next('ready')).toMatchObject({ handle: 'ann' });
    socket.close();
  });

  it('takes the __Host- pass (TLS) before a plain one, which another host could have set', async () => {
    const pass = (await passCookie(gw)).slice('mx_pass='.length);
    const cookie = `mx_pass=${pass.slice(0, -2)}xx; __Host-mx_pass=${pass}`;
    expect((await get('/api/session', { cookie })).status).toBe(200);
  });

  it("refuses another instance's pass, one for another host, a changed one and garbage", async () => {
    const ours = (await passCookie(gw)).slice('mx_pass='.length);
    const [header, payload, signature] = ours.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const changed = Buffer.from(JSON.stringify({ ...claims, sub: 'u_mallory' })).toString('base64url');
    const unsigned = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    for (const cookie of [
      await passCookie(gw, { token: 'mxi_cat-token-0123456789abcdef' }),
      await passCookie(gw, { host: 'cat.localhost:9000' }),
      `mx_pass=${header}.${changed}.${signature}`,
      `mx_pass=${unsigned}.${payload}.`,
      'mx_pass=garbage',
    ]) {
      await expectRefused(cookie, 'unauthorized');
    }
    // Nothing was written by the refused requests.
    expect((await (await gw.api('/api/messages')).json()).messages).toEqual([]);
  });

  it('sends a browser with an expired pass through the platform, and tells a script it ran out', async () => {
    const cookie = await passCookie(gw, { at: Date.now() - 2 * 3_600_000 });
    await expectRefused(cookie, 'pass_expired');
    // Accept: text/html is a page load too (browsers without Sec-Fetch-*), HEAD as well as GET.
    const html = await get('/files/', { cookie, accept: 'text/html,application/xhtml+xml' });
    expect(html.status).toBe(302);
    expect(html.headers.get('location')).toBe(refreshTo('/files/'));
    const head = await pageLoad(gw, '/api/apps', { cookie }, 'HEAD');
    expect(head.status).toBe(302);
    expect(head.headers.location).toBe(refreshTo('/api/apps'));
    // A write is never a page load: the shell gets its 401 and reloads the page.
    const write = await post({ cookie, ...FROM_ANN, accept: 'text/html' });
    expect(write.status).toBe(401);
    expect((await write.json()).error.code).toBe('pass_expired');
  });

  it('sends a signed-out page load of / through the platform, not to a token sign-in page', async () => {
    const page = await pageLoad(gw, '/', { accept: 'text/html' });
    expect(page.status).toBe(302);
    expect(page.headers.location).toBe(refreshTo('/'));
    expect((await get('/')).status).toBe(401);
    // The shell's files stay public.
    expect((await get('/shell/main.js', { accept: 'text/html' })).status).toBe(200);
  });

  it('answers the refresh path with a 404 should it ever arrive here: never a redirect to itself', async () => {
    const res = await pageLoad(gw, `${INSTANCE_REFRESH_PATH}?next=%2F`, { accept: 'text/html' });
    expect(res.status).toBe(404);
    expect(res.headers.location).toBeUndefined();
  });

  it('refuses a change with a valid pass from another origin, or from none', async () => {
    const cookie = await passCookie(gw);
    for (const origin of ['http://bob.localhost:9000', 'null', 'https://evil.example']) {
      const res = await post({ cookie, 'x-forwarded-host': ANN_HOST, origin });
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe('cross_origin');
      expect(await refusal(gw, { headers: { cookie, 'x-forwarded-host': ANN_HOST, origin } })).toBe(403);
    }
    const bare = await post({ cookie, 'x-forwarded-host': ANN_HOST });
    expect(bare.status).toBe(403);
    expect((await bare.json()).error.code).toBe('origin_required');
    expect(await refusal(gw, { headers: { cookie, 'x-forwarded-host': ANN_HOST } })).toBe(403);
    expect((await (await gw.api('/api/messages')).json()).messages).toEqual([]);
  });

  it('stops taking a verified (cached) pass when it runs out', async () => {
    const clock = manualClock(Date.now());
    const own = await startPlatformGateway({}, { now: clock.now });
    try {
      const cookie = await passCookie(own, { at: clock.now(), ttlS: 60 });
      const session = () => fetch(`${own.url}/api/session`, { headers: { cookie } });
      expect((await session()).status).toBe(200);
      expect((await session()).status).toBe(200);
      clock.advance(2 * 60_000);
      const late = await session();
      expect(late.status).toBe(401);
      expect((await late.json()).error.code).toBe('pass_expired');
    } finally {
      await own.close();
    }
  });

  it('without a public URL, checks the pass against the host the browser came to', async () => {
    const own = await startPlatformGateway({ publicUrl: undefined });
    try {
      const cookie = await passCookie(own, { host: 'ann.example.test' });
      const at = (host: string) =>
        fetch(`${own.url}/api/session`, { headers: { cookie, 'x-forwarded-host': host } });
      expect((await at('ann.example.test')).status).toBe(200);
      expect((await at('cat.example.test')).status).toBe(401);
    } finally {
      await own.close();
    }
  });

  it('takes no pass in single-user mode: nobody signs them there', async () => {
    const single = await startGateway({ handle: 'ann' });
    try {
      const cookie = await passCookie(single, { host: new URL(single.url).host });
      const res = await fetch(`${single.url}/api/session`, { headers: { cookie } });
      expect(res.status).toBe(401);
      // And a signed-out page load gets the sign-in page, as before.
      const page = await fetch(`${single.url}/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('id="signin-form"');
    } finally {
      await single.close();
    }
  });
});
