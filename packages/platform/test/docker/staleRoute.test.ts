import { dockerAvailable } from '@matrixos/shared/testing';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_HANDLE, LABEL_PLATFORM } from '../../src/runtime/driver.ts';
import { startTestPlatform, type TestPlatform, withoutEvents } from '../harness.ts';

const docker = new Docker();

/**
 * Issue 7 §7 on Docker, the router's side: a container removed behind the platform's back
 * leaves a route to an address nobody answers at. The first request after it is not a 502: the
 * router forgets the route and wakes the instance (recreated, data intact) for that request.
 */
describe.skipIf(!(await dockerAvailable()))('a stale route on Docker', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'docker', wrapRuntime: withoutEvents });
  });
  afterAll(() => t?.destroy());

  it('answers the first request after the container was removed, from the recreated instance', async () => {
    const token = await t.provision('alice');
    const auth = { authorization: `Bearer ${token}` };
    expect(
      (await t.instance('alice', { method: 'PUT', path: '/files/keep.txt', body: 'kept', headers: auth }))
        .status,
    ).toBeLessThan(300);
    const [before] = await docker.listContainers({
      filters: { label: [`${LABEL_PLATFORM}=${t.platformId}`, `${LABEL_HANDLE}=alice`] },
    });
    await docker.getContainer(before!.Id).remove({ force: true });
    expect(t.platform.orchestrator.route('alice')?.state).toBe('running'); // nobody told it

    const started = performance.now();
    const r = await t.instance('alice', { path: '/files/keep.txt', headers: auth });
    console.info(
      `first request after the removal: ${r.status} in ${Math.round(performance.now() - started)} ms`,
    );
    expect(r.status).toBe(200);
    expect(r.text).toBe('kept');
  });
});
