import { fileURLToPath } from 'node:url';
import { launchChromium, type TestBrowser, toolAvailable } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { type CookieClient, createCookieClient, signUpWithTotp } from './cookieClient.ts';
import { type Reply, startTestPlatform, type TestPlatform } from './harness.ts';

const HOSTILE = fileURLToPath(new URL('./fixtures/hostileInstance.ts', import.meta.url));
/** What the hostile instance writes into every page it serves. */
const MARK = 'HOSTILE-BYTES';
const PLATFORM_NAMES = /^(__host-|__secure-)?mx_/i;

function cookieNamesOf(r: Reply): string[] {
  return (r.headers['set-cookie'] ?? []).map((c) => c.split('=')[0]!.trim());
}

/**
 * Issue 7 §1: an instance whose gateway answers every route (`/health` too, and its WebSocket
 * handshake) with a script and with cookies aimed at the control plane. None of its bytes may be
 * rendered on the control-plane origin, and none of its cookies may be set there.
 */
describe('the control-plane origin against a hostile instance', () => {
  let t: TestPlatform;
  let owner: CookieClient;
  let evilToken: string;

  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'process', command: [process.execPath, HOSTILE] });
    // The hostile tenant signs up like anyone (their instance runs their code).
    owner = createCookieClient(t.port);
    await signUpWithTotp(owner, 'evil');
    await vi.waitFor(
      async () => {
        const r = await t.admin('GET', '/containers/evil');
        expect(r.json<{ instance?: { state: string } }>().instance?.state).toBe('running');
      },
      { timeout: 20_000, interval: 100 },
    );
    // The instance token, as the platform hands it to the router (the owner's API clients hold it).
    evilToken = t.platform.access.instanceToken('evil')!;
  });
  afterAll(() => t?.destroy());

  it('serves no byte of /proxy/{handle}/... to anyone without the instance token: a redirect to its host', async () => {
    const asVictim = createCookieClient(t.port);
    for (const path of ['/proxy/evil/', '/proxy/evil/health', '/proxy/evil/x.html?a=1', '/proxy/evil']) {
      for (const headers of [
        {},
        { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
        { authorization: `Bearer ${t.adminToken}` },
        { authorization: 'Bearer not-the-token' },
      ] as Record<string, string>[]) {
        for (const method of ['GET', 'POST', 'HEAD']) {
          const r = await asVictim.cp(path, { method, headers });
          expect(r.status).toBe(307);
          expect(new URL(r.headers.location!).host).toBe(`evil.localhost:${t.port}`);
          expect(r.text).not.toContain(MARK);
          expect(r.headers['set-cookie']).toBeUndefined();
        }
      }
    }
  });

  it('gives API clients with the instance token its answer on the control-plane origin, sandboxed and cookie-free', async () => {
    for (const path of ['/proxy/evil/', '/proxy/evil/health', '/proxy/evil/page.html']) {
      const r = await t.request({
        path,
        headers: { authorization: `Bearer ${evilToken}`, accept: 'text/html' },
      });
      expect(r.status).toBe(200);
      expect(r.text).toContain(MARK); // the API client gets its bytes...
      expect(r.headers['content-security-policy']).toBe('sandbox'); // ...which cannot run here
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['set-cookie']).toBeUndefined();
      expect(r.headers['clear-site-data']).toBeUndefined();
    }
  });

  it("answers an anonymous /health from the platform's own knowledge, never from the instance", async () => {
    const r = await t.instance('evil', {
      path: '/health',
      anonymous: true,
      headers: { accept: 'text/html' },
    });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.json()).toMatchObject({ status: 'ok', handle: 'evil', state: 'running' });
    expect(r.text).not.toContain(MARK);
    expect(r.headers['set-cookie']).toBeUndefined();
  });

  it("filters the instance's cookies on its own host: no platform names, no Domain, no Clear-Site-Data", async () => {
    const r = await t.instance('evil', {
      path: '/anything',
      headers: { authorization: `Bearer ${evilToken}` },
    });
    expect(r.text).toContain(MARK); // on its own host, the instance's page is its own business
    expect(r.headers['set-cookie']).toEqual(['harmless=1; Path=/']);
    expect(r.headers['clear-site-data']).toBeUndefined();
  });

  it('filters the cookies of a WebSocket handshake, on the instance host and on /proxy/', async () => {
    for (const [url, host] of [
      [`ws://127.0.0.1:${t.port}/`, `evil.localhost:${t.port}`],
      [`ws://127.0.0.1:${t.port}/proxy/evil/`, `localhost:${t.port}`],
    ] as const) {
      const ws = new WebSocket(url, { headers: { host, authorization: `Bearer ${evilToken}` } });
      const headers = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
        ws.once('upgrade', (res) => resolve(res.headers));
        ws.once('error', reject);
      });
      const names = ((headers['set-cookie'] as string[] | undefined) ?? []).map((c) => c.split('=')[0]);
      expect(names.filter((n) => PLATFORM_NAMES.test(n!) || n === 'stolen')).toEqual([]);
      if (host.startsWith('localhost')) expect(names).toEqual([]);
      ws.close();
    }
  });

  it('never lets its cookies reach the control plane through the cookie-client flow', async () => {
    const open = await owner.cp('/me/instance/open', { method: 'POST' });
    const url = new URL(open.json<{ url: string }>().url);
    const bridged = await owner.to(url.host, `${url.pathname}${url.search}`);
    expect(bridged.status).toBe(303);
    const page = await owner.to(url.host, '/');
    expect(page.text).toContain(MARK);
    expect(cookieNamesOf(page)).toEqual(['harmless']);
  });

  describe.skipIf(!toolAvailable('chromium'))('in Chromium', () => {
    let browser: TestBrowser;
    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(() => browser?.close());

    it('a signed-in victim who opens the link never runs the page on the control plane, nor gets its cookies', async () => {
      // The victim is signed in on the control plane (their own account).
      const victim = createCookieClient(t.port);
      await signUpWithTotp(victim, 'vic');
      const control = `http://localhost:${t.port}`;
      await browser.context.addCookies(
        [...victim.cookies()].map(([name, value]) => ({ name, value, url: control, httpOnly: true })),
      );
      const before = await browser.context.cookies(control);
      const page = await browser.newPage();
      // Every document the browser received from the control-plane origin, whatever came after.
      const seen: Promise<string>[] = [];
      page.on('response', (res) => {
        if (new URL(res.url()).host === `localhost:${t.port}` && res.status() < 300)
          seen.push(res.text().catch(() => ''));
      });
      for (const path of ['/proxy/evil/health', '/proxy/evil/', '/proxy/evil/x.html']) {
        await page.goto(`${control}${path}`);
        await page.waitForLoadState('networkidle');
        // Sent to the instance's own host: there the platform answers /health itself, and a
        // stranger to the instance is sent on to sign in, or (signed in) to their own instance.
        const at = new URL(page.url());
        if (at.host === `localhost:${t.port}`) {
          expect(at.pathname).not.toMatch(/^\/proxy\//);
          expect(await page.title()).not.toBe('ran');
        } else expect(at.host).toMatch(new RegExp(`^[a-z0-9-]+\\.localhost:${t.port}$`));
      }
      for (const body of await Promise.all(seen)) expect(body).not.toContain(MARK);
      const after = await browser.context.cookies(control);
      expect(after.map((c) => [c.name, c.value])).toEqual(before.map((c) => [c.name, c.value]));
      expect(after.some((c) => c.value === 'evil' || c.name === 'stolen')).toBe(false);
      await page.close();
    });
  });
});
