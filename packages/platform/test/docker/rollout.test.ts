import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, newToken } from '@matrixos/shared';
import { dockerAvailable, TEST_INSTANCE_IMAGE } from '@matrixos/shared/testing';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import type { RolloutView } from '../../src/rollout/createRollouts.ts';
import { LABEL_HANDLE, LABEL_PLATFORM } from '../../src/runtime/driver.ts';
import { createCookieClient, signUpWithTotp } from '../cookieClient.ts';
import { startTestPlatform, type TestPlatform } from '../harness.ts';

const docker = new Docker();
const execFileAsync = promisify(execFile);
const CLI = fileURLToPath(new URL('../../src/cli/matrixos.ts', import.meta.url));
const run = randomBytes(3).toString('hex');
const repo = TEST_INSTANCE_IMAGE.slice(0, TEST_INSTANCE_IMAGE.lastIndexOf(':'));
/** Made here from the instance image, and removed after: one whose gateway never starts, one that works. */
const BROKEN = `${repo}:rollout-broken-${run}`;
const NEXT = `${repo}:rollout-next-${run}`;
const made = new Set<string>();

/** An image FROM the instance image: `ENTRYPOINT` overridden (broken), or only a label (a new release). */
function buildFrom(tag: string, extra: string): string {
  execFileSync('docker', ['build', '-q', '-t', tag, '-'], {
    input: `FROM ${TEST_INSTANCE_IMAGE}\nLABEL dev.matrixos.test-release="${tag}"\n${extra}\n`,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  made.add(tag);
  return execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', tag], { encoding: 'utf8' }).trim();
}

async function containerOf(platformId: string, handle: string) {
  const [c] = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_PLATFORM}=${platformId}`, `${LABEL_HANDLE}=${handle}`] },
  });
  if (!c) return null;
  const info = await docker.getContainer(c.Id).inspect();
  return {
    id: info.Id,
    image: info.Image,
    startedAt: info.State.StartedAt,
    restarts: info.RestartCount,
    running: info.State.Running,
  };
}

const imageId = (ref: string) =>
  execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', ref], { encoding: 'utf8' }).trim();

async function rolloutOf(t: TestPlatform): Promise<RolloutView> {
  await t.platform.rollouts.idle();
  const r = await t.admin('GET', '/admin/rollout');
  expect(r.status).toBe(200);
  return r.json<{ rollout: RolloutView }>().rollout;
}

/**
 * Each case provisions three or four real instances and re-creates some: minutes on a loaded
 * 2-core machine, so each has its own bound.
 *
 * Issue 10 §5: rolling instance-image upgrades on the real engine, with real instance images.
 * Each instance moves on its own, gated on its health check; a broken image leaves every instance
 * on the image it ran, with its data, and the failure is on the admin API and page.
 */
describe.skipIf(!(await dockerAvailable()))('rolling image upgrades on Docker', () => {
  afterAll(() => {
    for (const tag of made) {
      try {
        execFileSync('docker', ['image', 'rm', tag], { stdio: 'ignore' });
      } catch {
        console.warn(`could not remove ${tag} (still in use?): remove it by hand`);
      }
    }
  });

  it('a broken image: the first instance goes back, nobody else moves, data intact, failure shown', async () => {
    buildFrom(BROKEN, 'ENTRYPOINT ["node", "-e", "process.exit(3)"]');
    const dataDir = mkdtempSync(path.join(tmpdir(), 'matrixos-rollout-'));
    // The same port across the restart: the admin's session cookie is for this origin.
    const ids = {
      dataDir,
      platformId: `t${randomBytes(4).toString('hex')}`,
      adminToken: newToken('mxa'),
      port: await freePort(),
    };
    let t: TestPlatform | undefined = await startTestPlatform({ runtime: 'docker', ...ids });
    try {
      const old = await t.platform.orchestrator.targetImage();
      for (const h of ['alice', 'bob', 'carol']) {
        await t.provision(h);
        const put = await t.instance(h, { method: 'PUT', path: '/files/keep.txt', body: `${h}'s work` });
        expect(put.status).toBe(201);
      }
      await t.admin('POST', '/containers/carol/stop');
      // An admin who will read the failure on the admin page (their own instance: 'boss', awake).
      const boss = createCookieClient(t.port);
      await signUpWithTotp(boss, 'boss');
      await t.admin('PUT', '/admin/users/boss/role', { role: 'admin' });
      await expect
        .poll(async () => t!.platform.store.get('boss')?.state, { timeout: 30_000 })
        .toBe('running');
      const bobBefore = await containerOf(ids.platformId, 'bob');
      const tokens = new Map(['alice', 'bob', 'carol'].map((h) => [h, t!.tokenOf(h)!]));
      await t.stop();

      // The upgrade: the platform starts with the broken image configured, and rolls to it.
      t = await startTestPlatform({
        runtime: 'docker',
        ...ids,
        env: { INSTANCE_IMAGE: BROKEN, ROLLOUT_HEALTH_TIMEOUT: '6s' },
      });
      await t.reconciled;
      const rollout = await rolloutOf(t);
      expect(rollout).toMatchObject({ state: 'failed', trigger: 'start', image: imageId(BROKEN) });
      expect(rollout.steps.map((s) => [s.handle, s.outcome])).toEqual([
        ['alice', 'rolled_back'],
        ['bob', 'not_reached'],
        ['boss', 'not_reached'],
        ['carol', 'not_reached'],
      ]);
      expect(rollout.error).toMatch(/^alice: image .* did not become healthy/);

      // Everyone is on the old image; alice was re-created on it, bob was never touched.
      for (const h of ['alice', 'bob', 'boss', 'carol'])
        expect(t.platform.store.get(h)).toMatchObject({ image: old, previousImage: null });
      const alice = await containerOf(ids.platformId, 'alice');
      expect(alice).toMatchObject({ running: true, image: imageId(old) });
      expect(await containerOf(ids.platformId, 'bob')).toEqual(bobBefore);
      const info = (await t.admin('GET', '/containers/alice')).json<{
        instance: { state: string; lastError: string };
      }>();
      expect(info.instance.state).toBe('running');
      expect(info.instance.lastError).toMatch(/did not become healthy.*back on/);
      // Data intact, and the sleeping one wakes on the old image.
      for (const h of ['alice', 'bob', 'carol']) {
        const got = await t.instance(h, {
          path: '/files/keep.txt',
          headers: { authorization: `Bearer ${tokens.get(h)}` },
        });
        expect(got.text).toBe(`${h}'s work`);
      }
      expect((await containerOf(ids.platformId, 'carol'))?.image).toBe(imageId(old));
      // The admin page says so.
      const page = await boss.cp('/admin');
      expect(page.status).toBe(200);
      expect(page.text).toContain('Instance image rollout: failed');
      expect(page.text).toMatch(/id="rollout-error"[^>]*>alice: image .* did not become healthy/);
      // Only the old image is in use now: no instance runs, or may go back to, the broken one.
      expect((await t.admin('GET', '/admin/rollout')).json<{ imagesInUse: string[] }>().imagesInUse).toEqual([
        old,
      ]);
    } finally {
      await t?.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 300_000);

  it('a good image: awake instances move one at a time with their data, a sleeping one on its next wake', async () => {
    // The configured tag is the current image; then a new release is built under the same tag.
    execFileSync('docker', ['tag', TEST_INSTANCE_IMAGE, NEXT]);
    made.add(NEXT);
    const t = await startTestPlatform({
      runtime: 'docker',
      env: { INSTANCE_IMAGE: NEXT, ROLLOUT_HEALTH_TIMEOUT: '120s' },
    });
    try {
      for (const h of ['alice', 'bob', 'carol']) {
        await t.provision(h);
        await t.instance(h, { method: 'PUT', path: '/files/keep.txt', body: `${h}'s work` });
      }
      await t.admin('POST', '/containers/carol/stop');
      const old = t.platform.store.get('alice')!.image;
      expect((await t.admin('POST', '/admin/rollout')).json()).toMatchObject({
        error: { code: 'up_to_date' },
      });
      const next = buildFrom(NEXT, '');
      const started = await t.admin('POST', '/admin/rollout');
      expect(started.status).toBe(202);
      // One at a time: a second one is refused while this one runs.
      expect((await t.admin('POST', '/admin/rollout')).json()).toMatchObject({
        error: { code: 'rollout_running' },
      });
      const rollout = await rolloutOf(t);
      expect(rollout).toMatchObject({ state: 'done', trigger: 'admin', image: next, error: null });
      expect(rollout.steps.map((s) => [s.handle, s.fromImage, s.outcome])).toEqual([
        ['alice', old, 'moved'],
        ['bob', old, 'moved'],
        ['carol', old, 'on_wake'],
      ]);
      for (const s of rollout.steps.slice(0, 2)) expect(s.durationMs).toBeGreaterThan(0);
      for (const h of ['alice', 'bob']) {
        expect(await containerOf(t.platformId, h)).toMatchObject({ running: true, image: next });
        expect(t.platform.store.get(h)).toMatchObject({ image: next, previousImage: null });
      }
      // Asleep: no container until it wakes, then on the new image (and its trial ends).
      expect(await containerOf(t.platformId, 'carol')).toBeNull();
      expect(t.platform.store.get('carol')).toMatchObject({
        image: next,
        previousImage: old,
        state: 'stopped',
      });
      // carol may still go back to the old image: both must stay on the engine until she wakes.
      const inUse = (await t.admin('GET', '/admin/rollout')).json<{ imagesInUse: string[] }>().imagesInUse;
      expect(inUse).toEqual([next, old].sort());
      for (const h of ['alice', 'bob', 'carol'])
        expect((await t.instance(h, { path: '/files/keep.txt' })).text).toBe(`${h}'s work`);
      expect(await containerOf(t.platformId, 'carol')).toMatchObject({ running: true, image: next });
      expect(t.platform.store.get('carol')).toMatchObject({ image: next, previousImage: null });
      // New instances get the new image too.
      await t.provision('dave');
      expect((await containerOf(t.platformId, 'dave'))?.image).toBe(next);
      // The operator's CLI: nothing left to move, and the last rollout's state.
      const env = {
        ...process.env,
        DATA_DIR: t.dataDir,
        PLATFORM_PORT: String(t.port),
        PLATFORM_ADMIN_TOKEN: t.adminToken,
        INSTANCE_IMAGE: NEXT,
      };
      // Asynchronously: the platform answering it runs in this process.
      const again = await execFileAsync(process.execPath, [CLI, 'rollout'], { env, encoding: 'utf8' });
      expect(again.stderr).toContain('up_to_date');
      const status = await execFileAsync(process.execPath, [CLI, 'rollout', 'status'], {
        env,
        encoding: 'utf8',
      });
      expect(JSON.parse(status.stdout)).toMatchObject({ state: 'done', counts: { moved: 2, on_wake: 1 } });
    } finally {
      await t.destroy();
    }
  }, 300_000);
});
