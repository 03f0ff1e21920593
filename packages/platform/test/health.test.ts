import { fileURLToPath } from 'node:url';
import { freePort } from '@matrixos/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));

interface Health {
  status: string;
  ready: boolean;
  problems: string[];
  runtime: { ok: boolean; error?: string; lastError: { message: string; at: string } | null };
  llmProxy: { status: string; error?: string; lastError: { message: string } | null };
  homeserver: { status: string };
}

/**
 * What an orchestrator gates on: `/health/ready` is 503 while the engine is down (nothing can
 * start or wake), and 200 with the LLM proxy unreachable (degraded: the platform still serves),
 * each time saying why; `/health` keeps each dependency's last error after it recovers.
 */
describe('health and readiness', () => {
  let t: TestPlatform;
  let engineFails = false;

  beforeAll(async () => {
    // A proxy address where nothing listens: the platform runs, its AI keys wait.
    const nothing = await freePort();
    t = await startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      proxyAdminUrl: `http://127.0.0.1:${nothing}`,
      wrapRuntime: (driver) => ({
        ...driver,
        list: () => (engineFails ? Promise.reject(new Error('engine down')) : driver.list()),
      }),
    });
  });
  afterAll(() => t?.destroy());

  it('is degraded but ready when the LLM proxy is unreachable, and says why', async () => {
    await t.platform.proxyStatus.refresh();
    const r = await t.request({ path: '/health' });
    expect(r.status).toBe(200);
    const h = r.json<Health>();
    expect(h).toMatchObject({ status: 'degraded', ready: true, llmProxy: { status: 'unreachable' } });
    expect(h.llmProxy.error).toMatch(/did not answer/);
    expect(h.llmProxy.lastError?.message).toBe(h.llmProxy.error);
    expect(h.problems).toEqual([expect.stringMatching(/^LLM proxy: .*did not answer/)]);
    expect(h.homeserver).toEqual({ status: 'not_configured' });
    const ready = await t.request({ path: '/health/ready' });
    expect(ready.status).toBe(200);
    expect(ready.json()).toMatchObject({ ready: true, status: 'degraded' });
    expect(ready.headers['cache-control']).toBe('no-store');
  });

  it('is not ready while the engine is down (503), and keeps its last error once it is back', async () => {
    engineFails = true;
    await t.platform.engineStatus.refresh();
    const down = await t.request({ path: '/health/ready' });
    expect(down.status).toBe(503);
    expect(down.json()).toMatchObject({
      ready: false,
      problems: expect.arrayContaining([expect.stringMatching(/^engine: engine down/)]),
    });
    const full = await t.request({ path: '/health' });
    expect(full.status).toBe(503);
    expect(full.json<Health>()).toMatchObject({ ready: false, runtime: { ok: false, error: 'engine down' } });

    engineFails = false;
    await t.platform.engineStatus.refresh();
    expect((await t.request({ path: '/health/ready' })).status).toBe(200);
    const back = (await t.request({ path: '/health' })).json<Health>();
    expect(back.runtime).toMatchObject({
      ok: true,
      lastError: { message: 'engine down', at: expect.any(String) },
    });
  });

  it('counts the engine as down in the metrics while it is', async () => {
    engineFails = true;
    await t.platform.engineStatus.refresh();
    expect((await t.admin('GET', '/metrics')).text).toMatch(/^matrixos_engine_up 0$/m);
    engineFails = false;
    await t.platform.engineStatus.refresh();
    expect((await t.admin('GET', '/metrics')).text).toMatch(/^matrixos_engine_up 1$/m);
    expect((await t.admin('GET', '/metrics')).text).toMatch(/^matrixos_llm_proxy_up 0$/m);
  });
});
