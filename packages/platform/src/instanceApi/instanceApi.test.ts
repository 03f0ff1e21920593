import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequest, startTestPlatform, type TestPlatform } from '../../test/harness.ts';

/** Requests to the instance API listener (not the platform's own port). */
function instanceApi(t: TestPlatform, o: { method?: string; path: string; token?: string; body?: unknown }) {
  const url = new URL(t.platform.instanceApiUrl()!);
  return httpRequest(Number(url.port), {
    method: o.method ?? 'PUT',
    path: o.path,
    headers: o.token ? { authorization: `Bearer ${o.token}` } : {},
    body: o.body as object,
  });
}

describe('the instance API', () => {
  let t: TestPlatform;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'process' });
    [alice, bob] = await Promise.all([t.provision('alice'), t.provision('bob')]);
    // Each gateway reports once its scheduler has started; the tests below come after that.
    for (let i = 0; i < 300 && !(t.platform.wakes.reported('alice') && t.platform.wakes.reported('bob')); i++)
      await new Promise((r) => setTimeout(r, 50));
  });
  afterAll(() => t?.destroy());

  const at = (ms: number) => new Date(Date.now() + ms).toISOString();

  it("sets the calling instance's next due time, identified by its own token only", async () => {
    const soon = at(3_600_000);
    const r = await instanceApi(t, { path: '/instance/v1/jobs/next-due', token: alice, body: { at: soon } });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ handle: 'alice', nextDueAt: soon });
    expect(t.platform.wakes.get('alice')).toBe(Date.parse(soon));
  });

  it("never lets one instance's token set another's due time", async () => {
    const before = t.platform.wakes.get('bob');
    // Naming the other instance in the body or a header changes nothing: the token decides.
    const inBody = await instanceApi(t, {
      path: '/instance/v1/jobs/next-due',
      token: alice,
      body: { at: at(60_000), handle: 'bob' },
    });
    expect(inBody.status).toBe(400);
    const viaHeader = await httpRequest(Number(new URL(t.platform.instanceApiUrl()!).port), {
      method: 'PUT',
      path: '/instance/v1/jobs/next-due',
      headers: {
        authorization: `Bearer ${alice}`,
        'x-matrixos-handle': 'bob',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ at: at(120_000) }),
    });
    expect(viaHeader.json<{ handle: string }>().handle).toBe('alice');
    expect(t.platform.wakes.get('bob')).toBe(before);
    // Bob's own token sets bob's.
    const own = await instanceApi(t, { path: '/instance/v1/jobs/next-due', token: bob, body: { at: null } });
    expect(own.json()).toEqual({ handle: 'bob', nextDueAt: null });
  });

  it.each([
    ['no token', undefined],
    ['a made-up token', 'mxi_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['the admin token', 'ADMIN'],
  ])('refuses %s with 401', async (_name, token) => {
    const r = await instanceApi(t, {
      path: '/instance/v1/jobs/next-due',
      token: token === 'ADMIN' ? t.adminToken : token,
      body: { at: null },
    });
    expect(r.status).toBe(401);
    expect(r.json<{ error: { code: string } }>().error.code).toBe('unauthorized');
  });

  it('does not serve the admin API, pages or instances, even to the admin token', async () => {
    for (const path of ['/containers', '/admin/overview', '/health', '/']) {
      const r = await instanceApi(t, { method: 'GET', path, token: t.adminToken });
      expect(r.status).toBe(401);
      const asInstance = await instanceApi(t, { method: 'GET', path, token: alice });
      expect(asInstance.status).toBe(404);
    }
  });

  it('refuses bad bodies with 400 and oversized ones with 413, changing nothing', async () => {
    const before = t.platform.wakes.get('alice');
    for (const body of [{ at: 'tomorrow' }, { at: 42 }, {}, { at: null, running: -1 }]) {
      const r = await instanceApi(t, { path: '/instance/v1/jobs/next-due', token: alice, body });
      expect(r.status).toBe(400);
    }
    const big = await instanceApi(t, {
      path: '/instance/v1/jobs/next-due',
      token: alice,
      body: { at: null, pad: 'x'.repeat(20_000) },
    });
    expect(big.status).toBe(413);
    expect(t.platform.wakes.get('alice')).toBe(before);
  });

  it('learns the due time from the gateway itself when a job is enabled', async () => {
    const r = await t.instance('bob', { method: 'POST', path: '/api/jobs/hello/enable' });
    expect(r.status).toBe(200);
    const next = r.json<{ nextRun: string }>().nextRun;
    await expect.poll(() => t.platform.wakes.get('bob'), { timeout: 10_000 }).toBe(Date.parse(next));
    // Disabled again: nothing is due.
    await t.instance('bob', { method: 'POST', path: '/api/jobs/hello/disable' });
    await expect.poll(() => t.platform.wakes.get('bob'), { timeout: 10_000 }).toBeNull();
  });

  it("records the calling instance's own activity for the idle sweep, and nobody else's", async () => {
    const lastActiveAt = new Date(Date.now() - 1000).toISOString();
    const r = await instanceApi(t, {
      path: '/instance/v1/activity',
      token: alice,
      body: { requests: 3, openSockets: 2, lastActiveAt },
    });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ handle: 'alice', openSockets: 2 });
    // Open sockets the instance holds keep it awake as the router's own do; bob is untouched.
    expect(t.platform.activity.openCount('alice')).toBeGreaterThanOrEqual(2);
    expect(t.platform.activity.openCount('bob')).toBe(0);
    const closed = await instanceApi(t, {
      path: '/instance/v1/activity',
      token: alice,
      body: { requests: 0, openSockets: 0, lastActiveAt },
    });
    expect(closed.status).toBe(200);
    expect(t.platform.activity.openCount('alice')).toBe(0);
    // A time in the future does not keep it awake longer than now.
    await instanceApi(t, {
      path: '/instance/v1/activity',
      token: bob,
      body: { requests: 1, openSockets: 0, lastActiveAt: new Date(Date.now() + 86_400_000).toISOString() },
    });
    expect(t.platform.activity.lastSeen('bob')).toBeLessThanOrEqual(Date.now());
    for (const body of [
      { requests: -1, openSockets: 0, lastActiveAt },
      { openSockets: 1 },
      { ...{ requests: 1, openSockets: 0, lastActiveAt: 'yesterday' } },
    ]) {
      const bad = await instanceApi(t, { path: '/instance/v1/activity', token: alice, body });
      expect(bad.status).toBe(400);
    }
    expect(
      (
        await instanceApi(t, {
          path: '/instance/v1/activity',
          body: { requests: 0, openSockets: 0, lastActiveAt },
        })
      ).status,
    ).toBe(401);
  });

  it('rate-limits each instance on its own', async () => {
    let limited = 0;
    for (let i = 0; i < 130; i++) {
      const r = await instanceApi(t, {
        path: '/instance/v1/jobs/next-due',
        token: alice,
        body: { at: null },
      });
      if (r.status === 429) limited++;
    }
    expect(limited).toBeGreaterThan(0);
    const other = await instanceApi(t, {
      path: '/instance/v1/jobs/next-due',
      token: bob,
      body: { at: null },
    });
    expect(other.status).toBe(200);
  });
});
