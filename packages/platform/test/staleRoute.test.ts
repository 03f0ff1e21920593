import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestPlatform, type TestPlatform, withoutEvents } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));

/**
 * Issue 7 §7, the router's side: an instance that died behind the platform's back (the route
 * still says "running", at an address where nothing listens) is woken for the very request that
 * found the address dead, instead of that request getting a 502.
 */
describe('a stale route', () => {
  let t: TestPlatform;

  async function killBehindTheBack(handle: string): Promise<number> {
    const { pid } = (await t.instance(handle, { path: '/pid' })).json<{ pid: number }>();
    process.kill(pid, 'SIGKILL');
    await vi.waitFor(() => expect(() => process.kill(pid, 0)).toThrow(), { timeout: 5000, interval: 20 });
    // The platform was not told: its route still points at the dead address.
    expect(t.platform.orchestrator.route(handle)?.state).toBe('running');
    return pid;
  }

  beforeAll(async () => {
    t = await startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      wrapRuntime: withoutEvents,
    });
    await t.provision('alice');
    await t.provision('bob');
  });
  afterAll(() => t?.destroy());

  it('wakes the instance for the API request that found its address dead, and answers it', async () => {
    const dead = await killBehindTheBack('alice');
    const r = await t.instance('alice', { path: '/pid' });
    expect(r.status).toBe(200);
    expect(r.json<{ pid: number }>().pid).not.toBe(dead);
    expect(t.platform.orchestrator.route('alice')?.state).toBe('running');
  });

  it('shows a browser the waking page when the wake takes a while, then the instance', async () => {
    const slow = path.join(t.homeOf('bob'), 'slow-start');
    writeFileSync(slow, '2500');
    try {
      await killBehindTheBack('bob');
      const page = await t.instance('bob', { path: '/pid', headers: { accept: 'text/html' } });
      expect(page.status).toBe(503);
      expect(page.text).toContain('Waking up bob');
      await vi.waitFor(async () => expect((await t.instance('bob', { path: '/pid' })).status).toBe(200), {
        timeout: 20_000,
        interval: 200,
      });
    } finally {
      rmSync(slow, { force: true });
    }
  });
});
