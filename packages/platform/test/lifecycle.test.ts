import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Progress } from '../src/orchestrator/orchestrator.ts';
import type { RuntimeDriver } from '../src/runtime/driver.ts';
import { startTestPlatform, type TestPlatform } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));

/** Sleep and wake, on instances that are fixture processes (fast, and no Docker needed). */
describe('lifecycle', () => {
  let t: TestPlatform | undefined;
  afterEach(async () => {
    await t?.destroy();
    t = undefined;
  });

  /** The platform's clock: idleness is moved forward by the test, never waited for. */
  let now = Date.now();
  const advance = (ms: number) => {
    now += ms;
  };
  const start = (env: Record<string, string> = {}) =>
    startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      env: { IDLE_TIMEOUT: '1s', SWEEP_INTERVAL: '1h', ...env },
      clock: () => now,
    });

  /** A runtime whose stops take `ms` longer, counting how many run at once (`most`). */
  function slowStops(ms: number, onStop: () => void = () => undefined) {
    const seen = { inFlight: 0, most: 0 };
    const wrap = (d: RuntimeDriver): RuntimeDriver => ({
      ...d,
      async stop(id, graceMs) {
        seen.inFlight++;
        seen.most = Math.max(seen.most, seen.inFlight);
        onStop();
        await new Promise((resolve) => setTimeout(resolve, ms));
        await d.stop(id, graceMs);
        seen.inFlight--;
      },
    });
    return { seen, wrap };
  }

  function stepsOf(p: TestPlatform, handle: string): Progress['step'][] {
    const steps: Progress['step'][] = [];
    p.platform.orchestrator.events.on('progress', (e) => e.handle === handle && steps.push(e.step));
    return steps;
  }

  it('stops an idle instance at the sweep and wakes it on the next request', async () => {
    t = await start();
    await t.provision('alice');
    const early = await t.admin('POST', '/admin/sweep');
    expect(early.json<{ stopped: string[] }>().stopped).toEqual([]);
    advance(1100);
    const sweep = await t.admin('POST', '/admin/sweep');
    expect(sweep.json<{ stopped: string[] }>().stopped).toEqual(['alice']);
    expect((await t.admin('GET', '/containers/alice')).json()).toMatchObject({
      instance: { state: 'stopped' },
      engine: { state: 'stopped' },
    });

    const woken = await t.instance('alice', { path: '/health' });
    expect(woken.status).toBe(200);
    expect(woken.json().handle).toBe('alice');
    expect((await t.admin('GET', '/containers/alice')).json()).toMatchObject({
      instance: { state: 'running' },
      engine: { state: 'running' },
    });
  });

  it('gives 20 concurrent requests to a sleeping instance one start, and all of them an answer', async () => {
    t = await start();
    await t.provision('alice');
    await t.admin('POST', '/containers/alice/stop');
    const steps = stepsOf(t, 'alice');
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => t!.instance('alice', { path: '/health' })),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(steps.filter((s) => s === 'starting')).toHaveLength(1);
  });

  it('keeps an instance with an open WebSocket awake past the idle limit, and lets it sleep after', async () => {
    t = await start();
    await t.provision('alice');
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/ws`, {
      headers: { host: `alice.localhost:${t.port}`, authorization: `Bearer ${t.tokenOf('alice')}` },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    advance(1100);
    expect((await t.admin('POST', '/admin/sweep')).json<{ stopped: string[] }>().stopped).toEqual([]);
    ws.close();
    await expect.poll(() => t!.platform.activity.openCount('alice')).toBe(0);
    advance(1100);
    expect((await t.admin('POST', '/admin/sweep')).json<{ stopped: string[] }>().stopped).toEqual(['alice']);
  });

  it('does not stop an instance while a request to it is in flight', async () => {
    t = await start();
    await t.provision('alice');
    advance(1100);
    t.platform.activity.begin('alice'); // a request that began before the sweep and is still running
    expect((await t.admin('POST', '/admin/sweep')).json<{ stopped: string[] }>().stopped).toEqual([]);
    t.platform.activity.end('alice');
  });

  it('pauses first when PAUSE_AFTER is set, and resumes on the next request', async () => {
    t = await start({ PAUSE_AFTER: '300ms', IDLE_TIMEOUT: '1h' });
    await t.provision('alice');
    advance(400);
    expect((await t.admin('POST', '/admin/sweep')).json<{ paused: string[] }>().paused).toEqual(['alice']);
    expect((await t.admin('GET', '/containers/alice')).json()).toMatchObject({
      instance: { state: 'paused' },
      engine: { state: 'paused' },
    });
    const steps = stepsOf(t, 'alice');
    expect((await t.instance('alice', { path: '/health' })).status).toBe(200);
    expect(steps).toContain('resuming');
    expect(steps).not.toContain('starting');
  });

  it('pauses on an admin request, refuses to pause what is not running, and wakes on a request', async () => {
    t = await start();
    await t.provision('alice');
    expect((await t.admin('POST', '/containers/alice/pause')).json()).toMatchObject({
      instance: { state: 'paused' },
    });
    const again = await t.admin('POST', '/containers/alice/pause');
    expect(again.status).toBe(409);
    expect(again.json<{ error: { code: string } }>().error.code).toBe('not_running');
    expect((await t.instance('alice', { path: '/health' })).status).toBe(200);
  });

  it('shows a browser a live "waking up" page when the wake takes a while, then the instance', async () => {
    t = await start();
    await t.provision('alice');
    await t.admin('POST', '/containers/alice/stop');
    const slow = path.join(t.homeOf('alice'), 'slow-start');
    writeFileSync(slow, '2000');
    const page = await t.instance('alice', { path: '/', headers: { accept: 'text/html' } });
    expect(page.status).toBe(503);
    expect(page.text).toContain('Waking up alice');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'nonce-[^']+'/);
    expect(page.headers['retry-after']).toBe('2');

    // What the page's script listens to: the steps, then "ready".
    const events = await new Promise<Progress[]>((resolve, reject) => {
      const got: Progress[] = [];
      const req = http.get(
        {
          host: '127.0.0.1',
          port: t!.port,
          path: '/.well-known/matrixos/wake',
          headers: { host: `alice.localhost:${t!.port}`, authorization: `Bearer ${t!.tokenOf('alice')}` },
        },
        (res) => {
          expect(res.headers['content-type']).toBe('text/event-stream');
          let buf = '';
          res.on('data', (c) => {
            buf += c;
            for (const m of buf.matchAll(/^data: (.*)$/gm)) got.push(JSON.parse(m[1]!));
            buf = buf.slice(buf.lastIndexOf('\n\n') + 2);
          });
          res.on('end', () => resolve(got));
        },
      );
      req.on('error', reject);
    });
    expect(events.map((e) => e.step)).toContain('health');
    expect(events.at(-1)?.step).toBe('ready');
    rmSync(slow);
    expect((await t.instance('alice', { path: '/health', headers: { accept: 'text/html' } })).status).toBe(
      200,
    );
  });

  it('never wakes an instance for an anonymous caller', async () => {
    t = await start();
    await t.provision('alice');
    await t.admin('POST', '/containers/alice/stop');
    const steps = stepsOf(t, 'alice');
    expect((await t.instance('alice', { path: '/health', anonymous: true })).json()).toEqual({
      status: 'sleeping',
      handle: 'alice',
      state: 'stopped',
      image: expect.any(String),
    });
    expect((await t.instance('alice', { path: '/', anonymous: true })).status).toBe(401);
    expect(
      (await t.instance('alice', { path: '/', headers: { authorization: 'Bearer mxi_guess' } })).status,
    ).toBe(401);
    expect(steps).toEqual([]);
    expect((await t.admin('GET', '/containers/alice')).json()).toMatchObject({
      engine: { state: 'stopped' },
    });
  });

  it('reads an instance killed behind its back as stopped at once, and wakes it on the next request', async () => {
    t = await start();
    await t.provision('alice');
    const before = (await t.instance('alice', { path: '/env' })).status;
    expect(before).toBe(200);
    const [rt] = await t.runtime.list({ handle: 'alice' });
    const pid = Number(
      JSON.parse(readFileSync(path.join(t.dataDir, `runtime-${t.platformId}.json`), 'utf8')).instances.find(
        (i: { id: string }) => i.id === rt!.id,
      ).proc.pid,
    );
    process.kill(-pid, 'SIGKILL');
    await expect
      .poll(
        async () =>
          (await t!.admin('GET', '/containers/alice')).json<{ instance: { state: string } }>().instance.state,
        {
          timeout: 1000,
          interval: 50,
        },
      )
      .toBe('stopped');
    expect((await t.admin('GET', '/containers/alice')).json()).toMatchObject({
      instance: { lastError: 'the instance stopped outside the platform' },
      engine: { state: 'stopped' },
    });
    expect((await t.instance('alice', { path: '/env' })).status).toBe(200);
    expect((await t.admin('GET', '/containers/alice')).json()).toMatchObject({
      instance: { state: 'running', lastError: null },
      engine: { state: 'running' },
    });
  });

  it('answers API clients with a clear 503 when the wake takes longer than WAKE_TIMEOUT', async () => {
    t = await start({ WAKE_TIMEOUT: '2s' });
    await t.provision('alice');
    await t.admin('POST', '/containers/alice/stop');
    // A start that takes a minute: only the router's WAKE_TIMEOUT can end this request.
    writeFileSync(path.join(t.homeOf('alice'), 'slow-start'), '60000');
    const r = await t.instance('alice', { path: '/health' });
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBeDefined();
    expect(r.json<{ error: { code: string } }>().error.code).toBe('wake_timeout');
  });

  it('stops idle instances SWEEP_PARALLEL at a time, and a wake arriving mid-sweep is served before the sweep goes on', async () => {
    /** Stops the engine is in the middle of, and the most at once; each stop takes 400 ms. */
    let firstStop: () => void = () => undefined;
    const sweepBusy = new Promise<void>((resolve) => {
      firstStop = resolve;
    });
    const stops = slowStops(400, () => firstStop());
    const events: string[] = [];
    t = await startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      env: { IDLE_TIMEOUT: '1s', SWEEP_INTERVAL: '1h', SWEEP_PARALLEL: '8' },
      clock: () => now,
      wrapRuntime: stops.wrap,
    });
    const idle = Array.from({ length: 12 }, (_, i) => `idle${i}`);
    await Promise.all([...idle, 'zed'].map((h) => t!.provision(h)));
    await t.admin('POST', '/containers/zed/stop');
    advance(1100);
    stops.seen.most = 0;

    const sweep = t.admin('POST', '/admin/sweep').then((r) => {
      events.push('sweep done');
      return r;
    });
    await sweepBusy;
    const woken = await t.instance('zed', { path: '/health' });
    events.push('wake done');
    expect(woken.status).toBe(200);
    const report = (await sweep).json<{ stopped: string[] }>();
    // The 4 stops still queued when zed's wake began waited for it.
    expect(events).toEqual(['wake done', 'sweep done']);
    expect(report.stopped.sort()).toEqual([...idle].sort());
    expect(stops.seen.most).toBeGreaterThan(1);
    expect(stops.seen.most).toBeLessThanOrEqual(8);
  });

  it('freezes idle instances SWEEP_PARALLEL at a time, and stops frozen ones one at a time later', async () => {
    const stops = slowStops(100);
    t = await startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      env: { PAUSE_AFTER: '1s', IDLE_TIMEOUT: '10s', SWEEP_INTERVAL: '1h', SWEEP_PARALLEL: '8' },
      clock: () => now,
      wrapRuntime: stops.wrap,
    });
    const idle = Array.from({ length: 6 }, (_, i) => `idle${i}`);
    await Promise.all(idle.map((h) => t!.provision(h)));
    advance(1100);
    const frozen = (await t.admin('POST', '/admin/sweep')).json<{ paused: string[]; stopped: string[] }>();
    expect(frozen.paused.sort()).toEqual([...idle].sort());
    expect(frozen.stopped).toEqual([]);
    advance(10_000);
    const stopped = (await t.admin('POST', '/admin/sweep')).json<{ stopped: string[] }>();
    expect(stopped.stopped.sort()).toEqual([...idle].sort());
    expect(stops.seen.most).toBe(1);
    // Asleep all the same: the next request wakes one.
    expect((await t.instance('idle0', { path: '/health' })).status).toBe(200);
  });

  it('keeps instances up past PAUSE_AFTER where the engine cannot freeze, and stops them at IDLE_TIMEOUT', async () => {
    t = await startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      env: { PAUSE_AFTER: '1s', IDLE_TIMEOUT: '10s', SWEEP_INTERVAL: '1h' },
      clock: () => now,
      wrapRuntime: (d) => ({ ...d, pausable: false }),
    });
    await t.provision('alice');
    advance(1100);
    const early = (await t.admin('POST', '/admin/sweep')).json<{ paused: string[]; stopped: string[] }>();
    expect(early).toMatchObject({ paused: [], stopped: [] });
    expect(
      (await t.admin('GET', '/containers/alice')).json<{ instance: { state: string } }>().instance.state,
    ).toBe('running');
    advance(10_000);
    expect((await t.admin('POST', '/admin/sweep')).json<{ stopped: string[] }>().stopped).toEqual(['alice']);
  });
});
