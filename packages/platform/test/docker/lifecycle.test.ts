import { dockerAvailable } from '@matrixos/shared/testing';
import Docker from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../harness.ts';

/** Counts the engine's own `start` events for one container since a moment (to the nanosecond). */
async function countStarts(containerId: string, since: number): Promise<number> {
  const stream = (await new Docker().getEvents({
    // `seconds.nanoseconds`: whole seconds would count a start earlier in the same second.
    since: (since / 1000).toFixed(9) as unknown as number,
    until: Math.ceil(Date.now() / 1000) + 1,
    filters: { container: [containerId], event: ['start'] },
  })) as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text.split('\n').filter((l) => l.trim()).length;
}

describe.skipIf(!(await dockerAvailable()))('sleep and wake on Docker', () => {
  let t: TestPlatform | undefined;
  afterEach(async () => {
    await t?.destroy();
    t = undefined;
  });

  it('stops an idle instance and wakes it on the next request with its data', async () => {
    t = await startTestPlatform({ runtime: 'docker', env: { IDLE_TIMEOUT: '1s', SWEEP_INTERVAL: '300ms' } });
    const token = await t.provision('alice');
    const auth = { authorization: `Bearer ${token}` };
    expect(
      (await t.instance('alice', { method: 'PUT', path: '/files/a.txt', body: 'still here', headers: auth }))
        .status,
    ).toBe(201);
    // The sweep timer (every 300 ms) finds it idle past 1 s and stops it.
    await expect
      .poll(
        async () =>
          (await t!.admin('GET', '/containers/alice')).json<{ engine: { state: string } }>().engine.state,
        { timeout: 10_000 },
      )
      .toBe('stopped');
    const r = await t.instance('alice', { path: '/files/a.txt', headers: auth });
    expect(r.status).toBe(200);
    expect(r.text).toBe('still here');
  });

  it('starts a sleeping instance once for 20 concurrent requests, and answers them all', async () => {
    t = await startTestPlatform({ runtime: 'docker' });
    await t.provision('alice');
    await t.admin('POST', '/containers/alice/stop');
    const id = (await t.admin('GET', '/containers/alice')).json<{ instance: { engineId: string } }>().instance
      .engineId;
    const since = Date.now();
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => t!.instance('alice', { path: '/health' })),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(await countStarts(id, since)).toBe(1);
  });

  it('pauses an idle instance first when PAUSE_AFTER is set, and unpauses it on a request', async () => {
    let now = Date.now();
    t = await startTestPlatform({
      runtime: 'docker',
      env: { PAUSE_AFTER: '500ms', IDLE_TIMEOUT: '1h' },
      clock: () => now,
    });
    await t.provision('alice');
    now += 600; // idle past PAUSE_AFTER, by the platform's clock
    expect((await t.admin('POST', '/admin/sweep')).json<{ paused: string[] }>().paused).toEqual(['alice']);
    const info = await new Docker()
      .getContainer(
        (await t.admin('GET', '/containers/alice')).json<{ instance: { engineId: string } }>().instance
          .engineId,
      )
      .inspect();
    expect(info.State.Paused).toBe(true);
    expect((await t.instance('alice', { path: '/health' })).status).toBe(200);
    expect((await t.admin('GET', '/containers/alice')).json()).toMatchObject({
      instance: { state: 'running' },
      engine: { state: 'running' },
    });
  });
});
