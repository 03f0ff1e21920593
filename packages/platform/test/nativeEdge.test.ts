import { execFileSync } from 'node:child_process';
import { toolAvailable } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { type CookieClient, createCookieClient, signUpWithTotp } from './cookieClient.ts';
import { startTestPlatformBehindEdge, type TestPlatform, withoutEvents } from './harness.ts';

const NEED_TOOLS = process.env.REQUIRE_TOOLS === '1';

/**
 * Issue 15: the router's security properties on the new path. The native edge (deploy/edge, real
 * nginx) in front of a real platform whose instances are real gateways (process runtime): once an
 * instance runs, its requests go from the edge straight to it, and the gateway decides who may in.
 */
describe.skipIf(!NEED_TOOLS && !toolAvailable('nginx'))('the native edge in front of the platform', () => {
  let behind: Awaited<ReturnType<typeof startTestPlatformBehindEdge>>;
  let t: TestPlatform;
  let edgePort: number;

  const hostOf = (handle: string) => `${handle}.localhost:${edgePort}`;

  /** Requests the router answered for instances: unchanged when the edge routed them itself. */
  async function routerCount(): Promise<number> {
    const m = await t.platform.metrics.registry.getSingleMetric('matrixos_router_requests_total')?.get();
    return (m?.values ?? []).reduce((sum, v) => sum + v.value, 0);
  }

  const edgeRoutes = () => behind.routes();

  async function waitRouted(handle: string): Promise<void> {
    await vi.waitFor(async () => expect(Object.keys(await edgeRoutes())).toContain(handle), {
      timeout: 20_000,
      interval: 50,
    });
  }

  /** A new account with its instance running, signed in on the instance's host through the bridge. */
  async function owner(handle: string): Promise<CookieClient> {
    const client = createCookieClient(edgePort);
    await signUpWithTotp(client, handle);
    await vi.waitFor(
      async () =>
        expect(
          (await t.admin('GET', `/containers/${handle}`)).json<{ instance?: { state: string } }>().instance
            ?.state,
        ).toBe('running'),
      { timeout: 30_000, interval: 100 },
    );
    const open = await client.cp('/me/instance/open', { method: 'POST' });
    expect(open.status).toBe(200);
    const url = new URL(open.json<{ url: string }>().url);
    expect(url.host).toBe(hostOf(handle));
    const landed = await client.to(url.host, `${url.pathname}${url.search}`);
    expect(landed.status).toBe(303);
    expect(client.cookies(url.host).get('mx_pass')).toBeTruthy();
    await waitRouted(handle);
    return client;
  }

  function openSocket(client: CookieClient, handle: string) {
    const host = hostOf(handle);
    const ws = new WebSocket(`ws://127.0.0.1:${edgePort}/ws`, {
      headers: {
        host,
        origin: `http://${host}`,
        cookie: `mx_pass=${client.cookies(host).get('mx_pass')}`,
      },
    });
    const opened = new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    const closed = new Promise<{ code: number; at: number }>((resolve) =>
      ws.once('close', (code) => resolve({ code, at: Date.now() })),
    );
    return { ws, opened, closed };
  }

  beforeAll(async () => {
    // A killed instance is found by the request that meets its dead address, not by the engine.
    behind = await startTestPlatformBehindEdge({ runtime: 'process', wrapRuntime: withoutEvents });
    ({ t, edgePort } = behind);
  }, 60_000);
  afterAll(() => behind?.close());

  it("sends the owner's requests straight to the running instance, which checks the pass itself", async () => {
    const edna = await owner('edna');
    const before = await routerCount();
    const r = await edna.to(hostOf('edna'), '/api/session');
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ handle: 'edna', mode: 'platform', via: 'pass' });
    expect(await routerCount()).toBe(before);
    // The platform learns of the use all the same (the gateway reports it; the sweep reads it).
    await vi.waitFor(
      () => expect(t.platform.activity.lastSeen('edna')).toBeGreaterThan(Date.now() - 30_000),
      {
        timeout: 10_000,
        interval: 100,
      },
    );
  });

  it('gives strangers a 401, or a browser the way to sign in, from the instance itself', async () => {
    await owner('fern');
    const stranger = createCookieClient(edgePort);
    const api = await stranger.to(hostOf('fern'), '/api/session');
    expect(api.status).toBe(401);
    const page = await stranger.to(hostOf('fern'), '/files', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(302);
    expect(page.headers.location).toBe('/.well-known/matrixos/refresh?next=%2Ffiles');
    // That path is the platform's: through the control plane, which sends a stranger to sign in.
    const refresh = await stranger.to(hostOf('fern'), page.headers.location!);
    expect(refresh.status).toBe(302);
    expect(refresh.headers.location).toBe(`http://localhost:${edgePort}/open/fern?next=%2Ffiles`);
    const open = await stranger.cp('/open/fern?next=%2Ffiles');
    expect(open.headers.location).toBe('/login?next=fern');
  });

  it("refuses another tenant's pass and cookies, and a replayed bridge token", async () => {
    const gail = await owner('gail');
    const hal = await owner('hal');
    // Hal's pass, carried to Gail's host: signed with another instance's key, for another host.
    gail.setCookie(hostOf('gail'), 'mx_pass', hal.cookies(hostOf('hal')).get('mx_pass')!);
    expect((await gail.to(hostOf('gail'), '/api/session')).status).toBe(401);
    // Hal's control-plane cookies on Gail's host: stripped at the edge, so nobody is signed in.
    const intruder = createCookieClient(edgePort);
    for (const [k, v] of hal.cookies()) intruder.setCookie(hostOf('gail'), k, v);
    expect((await intruder.to(hostOf('gail'), '/api/session')).status).toBe(401);
    // Hal's instance token on Gail's host.
    const halToken = (await t.platform.access.instanceToken('hal'))!;
    const withToken = await intruder.to(hostOf('gail'), '/api/session', {
      headers: { authorization: `Bearer ${halToken}` },
    });
    expect(withToken.status).toBe(401);
    // A bridge token used once cannot be used again, through the edge as before it.
    const open = await hal.cp('/me/instance/open', { method: 'POST' });
    const url = new URL(open.json<{ url: string }>().url);
    expect((await hal.to(url.host, `${url.pathname}${url.search}`)).status).toBe(303);
    const replay = createCookieClient(edgePort);
    expect((await replay.to(url.host, `${url.pathname}${url.search}`)).status).toBe(403);
  });

  it("never serves an instance's bytes on the control-plane origin", async () => {
    const ivy = await owner('ivy');
    const viaPath = await ivy.cp('/proxy/ivy/api/session');
    expect(viaPath.status).toBe(307);
    expect(viaPath.headers.location).toBe(`http://${hostOf('ivy')}/api/session`);
    // A control-plane host name with an instance's path is still the control plane.
    const r = await ivy.to(`localhost:${edgePort}`, '/api/session');
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.text).not.toContain('"ivy"');
  });

  it('closes an open socket within a second of a sign-out, and the pass stops working', async () => {
    const joan = await owner('joan');
    const openBefore = t.platform.router.openSockets();
    const { opened, closed } = openSocket(joan, 'joan');
    await opened;
    // Straight to the instance: the router holds none of it.
    expect(t.platform.router.openSockets()).toBe(openBefore);
    const signedOutAt = Date.now();
    expect((await joan.cp('/auth/logout', { method: 'POST' })).status).toBeLessThan(300);
    const end = await closed;
    expect(end.code).toBe(1008);
    expect(end.at - signedOutAt).toBeLessThan(1000);
    expect((await joan.to(hostOf('joan'), '/api/session')).status).toBe(401);
  });

  it('wakes a stopped instance through the edge, and routes it directly again', async () => {
    const kit = await owner('kit');
    expect((await t.admin('POST', '/containers/kit/stop')).status).toBe(200);
    expect(Object.keys(await edgeRoutes())).not.toContain('kit');
    const r = await kit.to(hostOf('kit'), '/api/session');
    expect(r.status).toBe(200);
    await waitRouted('kit');
  });

  it("wakes an instance killed behind the platform's back at the next request", async () => {
    const lee = await owner('lee');
    const port = t.platform.orchestrator.route('lee')!.endpoint!.port;
    const pid = Number(
      /pid=(\d+)/.exec(execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' }))?.[1],
    );
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await vi.waitFor(() => expect(() => process.kill(pid, 0)).toThrow(), { timeout: 5000, interval: 20 });
    // The edge still has the dead address: it fails over to the platform, which wakes it.
    expect(Object.keys(await edgeRoutes())).toContain('lee');
    const r = await lee.to(hostOf('lee'), '/api/session');
    expect(r.status).toBe(200);
    const now = t.platform.orchestrator.route('lee')!.endpoint!;
    await vi.waitFor(async () => expect((await edgeRoutes()).lee).toBe(`${now.host}:${now.port}`), {
      timeout: 10_000,
      interval: 50,
    });
    const before = await routerCount();
    expect((await lee.to(hostOf('lee'), '/api/session')).status).toBe(200);
    expect(await routerCount()).toBe(before);
  });
});
