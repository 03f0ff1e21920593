import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { totpCodeAt } from '../../src/accounts/totp.ts';
import type { Overview } from '../../src/api/adminOverviewRoute.ts';
import { type CookieClient, createCookieClient } from '../cookieClient.ts';
import { startTestPlatform, type TestPlatform } from '../harness.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/streamingInstance.ts', import.meta.url));
const PAGES = ['/', '/signup', '/login', '/dashboard', '/admin'];

/**
 * The pages over plain HTTP (what needs no browser): who may see which page, where signed-out
 * visitors are sent, the security headers and markup rules every page keeps, the static files,
 * and the admin overview API behind the admin page.
 */
describe('control-plane pages', () => {
  let t: TestPlatform;
  let user: CookieClient;
  let admin: CookieClient;

  async function signUp(handle: string): Promise<CookieClient> {
    const client = createCookieClient(t.port);
    const start = await client.cp('/auth/signup/totp/options', { method: 'POST', body: { handle } });
    const { flowId, secret } = start.json<{ flowId: string; secret: string }>();
    const done = await client.cp('/auth/signup/totp/verify', {
      method: 'POST',
      body: { flowId, code: totpCodeAt(secret, Date.now()) },
    });
    expect(done.status).toBe(201);
    return client;
  }

  async function waitRunning(handle: string): Promise<void> {
    await vi.waitFor(
      async () => {
        const r = await t.admin('GET', `/containers/${handle}`);
        expect(r.json<{ instance?: { state: string } }>().instance?.state).toBe('running');
      },
      { timeout: 15_000, interval: 100 },
    );
  }

  beforeAll(async () => {
    t = await startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      env: { TRUST_PROXY: 'true' },
    });
    user = await signUp('una');
    admin = await signUp('boss');
    await t.admin('PUT', '/admin/users/boss/role', { role: 'admin' });
    await waitRunning('una');
    await waitRunning('boss');
  });
  afterAll(() => t?.destroy());

  it('sends signed-out visitors of signed-in pages to sign in, and back', async () => {
    const stranger = createCookieClient(t.port);
    for (const path of ['/dashboard', '/admin']) {
      const r = await stranger.cp(path);
      expect(r.status).toBe(302);
      expect(r.headers.location).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
    expect((await user.cp('/dashboard')).status).toBe(200);
    expect((await user.cp('/signup')).headers.location).toBe('/dashboard');
    expect((await user.cp('/login?next=/dashboard')).headers.location).toBe('/dashboard');
  });

  it('shows the admin page to admins only, and a 403 page to everyone else signed in', async () => {
    const refused = await user.cp('/admin');
    expect(refused.status).toBe(403);
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
    expect(refused.text).toContain('For administrators only');
    const allowed = await admin.cp('/admin');
    expect(allowed.status).toBe(200);
    expect(allowed.text).toContain('id="instances"');
  });

  it('honours ?next= only for an instance or a page of this site', async () => {
    const stranger = createCookieClient(t.port);
    expect((await stranger.cp('/login?next=una')).text).toContain('data-next="una"');
    for (const next of [
      'https://evil.example/',
      '//evil.example',
      '/\\evil.example',
      'javascript:alert(1)',
    ]) {
      const page = await stranger.cp(`/login?next=${encodeURIComponent(next)}`);
      expect(page.status).toBe(200);
      expect(page.text).not.toContain('data-next');
    }
    const signedIn = await user.cp(`/login?next=${encodeURIComponent('//evil.example')}`);
    expect(signedIn.status).toBe(200);
  });

  it('serves every page with a strict CSP, no inline script or style, and nothing from elsewhere', async () => {
    for (const client of [createCookieClient(t.port), user, admin]) {
      for (const path of PAGES) {
        const r = await client.cp(path);
        if (r.status === 302) continue;
        expect(r.headers['content-security-policy']).toContain("script-src 'self'");
        expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
        expect(r.headers['x-content-type-options']).toBe('nosniff');
        for (const script of r.text.match(/<script\b[^>]*>/g) ?? [])
          expect(script).toMatch(/ src="\/assets\//);
        expect(r.text).not.toMatch(/<style|\sstyle="|\son[a-z]+="/);
        for (const [, url] of r.text.matchAll(/(?:src|href)="([^"]*)"/g)) expect(url).toMatch(/^(\/|#)/);
      }
    }
  });

  it('counts instances for the landing page', async () => {
    const r = await createCookieClient(t.port).cp('/stats');
    expect(r.json()).toEqual({ instances: { total: 2, awake: 2 } });
  });

  it('serves the static files, the WebAuthn browser library among them, with revalidation', async () => {
    const stranger = createCookieClient(t.port);
    const lib = await stranger.cp('/assets/webauthn.js');
    expect(lib.status).toBe(200);
    expect(lib.headers['content-type']).toMatch(/^text\/javascript/);
    expect(lib.text).toContain('SimpleWebAuthnBrowser');
    const css = await stranger.cp('/assets/style.css');
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    const again = await stranger.cp('/assets/style.css', {
      headers: { 'if-none-match': String(css.headers.etag) },
    });
    expect(again.status).toBe(304);
    expect((await stranger.cp('/assets/nope.js')).status).toBe(404);
    expect((await stranger.cp('/assets/..%2Fpages.ts')).status).toBe(404);
  });

  describe('GET /admin/overview', () => {
    it('is for admins (token or session) only', async () => {
      expect((await createCookieClient(t.port).cp('/admin/overview')).status).toBe(401);
      expect((await user.cp('/admin/overview')).status).toBe(403);
      expect((await admin.cp('/admin/overview')).status).toBe(200);
      expect((await t.admin('GET', '/admin/overview')).status).toBe(200);
    });

    it('lists users and instances with engine figures for the awake ones, measured once per few seconds', async () => {
      await t.provision('no-owner');
      await t.admin('POST', '/containers/una/stop');
      const stats = vi.spyOn(t.runtime, 'stats');
      try {
        const first = (await t.admin('GET', '/admin/overview')).json<Overview>();
        const measuredFirst = stats.mock.calls.length;
        const second = (await admin.cp('/admin/overview')).json<Overview>();
        expect(first.totals).toMatchObject({ users: 2, instances: 3, awake: 2, stopped: 1 });
        expect(first.users.map((u) => [u.handle, u.role, u.instanceState])).toEqual([
          ['boss', 'admin', 'running'],
          ['una', 'user', 'stopped'],
        ]);
        const byHandle = new Map(first.instances.map((i) => [i.handle, i]));
        expect(byHandle.get('una')).toMatchObject({ state: 'stopped', hasAccount: true, stats: null });
        expect(byHandle.get('no-owner')).toMatchObject({ state: 'running', hasAccount: false });
        const measured = byHandle.get('boss')!.stats!;
        expect(measured.memoryBytes).toBeGreaterThan(1024 * 1024);
        expect(measured.memoryLimitBytes).toBe(256 * 1024 * 1024);
        expect(measured.cpuPercent).toBeGreaterThanOrEqual(0);
        expect(first.totals.memoryBytes).toBeGreaterThanOrEqual(measured.memoryBytes);
        expect(JSON.stringify(first)).not.toMatch(/Sealed|mxi_|mxp_/);
        // Only awake instances are measured, and the second answer comes from the cache.
        expect(measuredFirst).toBeGreaterThan(0);
        expect(measuredFirst).toBeLessThanOrEqual(2);
        expect(stats).toHaveBeenCalledTimes(measuredFirst);
        expect(second.instances.find((i) => i.handle === 'boss')!.stats).toEqual(measured);
      } finally {
        stats.mockRestore();
      }
    });
  });
});
