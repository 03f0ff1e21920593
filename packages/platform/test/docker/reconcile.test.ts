import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { newToken } from '@matrixos/shared';
import { dockerAvailable, TEST_INSTANCE_IMAGE } from '@matrixos/shared/testing';
import Docker from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { LABEL_HANDLE, LABEL_MANAGED, LABEL_PLATFORM } from '../../src/runtime/driver.ts';
import { httpRequest, spawnPlatform, startTestPlatform, type TestPlatform } from '../harness.ts';

const docker = new Docker();

async function containersOf(platformId: string, handle: string) {
  return docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_PLATFORM}=${platformId}`, `${LABEL_HANDLE}=${handle}`] },
  });
}

describe.skipIf(!(await dockerAvailable()))('reconciler on Docker', () => {
  let t: TestPlatform | undefined;
  afterEach(async () => {
    await t?.destroy();
    t = undefined;
  });

  it('recreates a container removed behind its back, with the data intact', async () => {
    t = await startTestPlatform({ runtime: 'docker' });
    const token = await t.provision('alice');
    const auth = { authorization: `Bearer ${token}` };
    await t.instance('alice', { method: 'PUT', path: '/files/keep.txt', body: 'survives', headers: auth });
    const [before] = await containersOf(t.platformId, 'alice');
    await docker.getContainer(before!.Id).remove({ force: true, v: true });

    // The engine's event says so at once: the instance reads as stopped, and the next request wakes it.
    await expect
      .poll(
        async () =>
          (await t!.admin('GET', '/containers/alice')).json<{ instance: { state: string } }>().instance.state,
      )
      .toBe('stopped');
    expect((await t.instance('alice', { path: '/health', headers: auth })).status).toBe(200);
    const after = await containersOf(t.platformId, 'alice');
    expect(after).toHaveLength(1);
    expect(after[0]!.Id).not.toBe(before!.Id);
    expect(after[0]!.State).toBe('running');
    expect((await t.instance('alice', { path: '/files/keep.txt', headers: auth })).text).toBe('survives');
  });

  it('removes a container labelled as its own that has no row, and keeps its volume', async () => {
    t = await startTestPlatform({ runtime: 'docker' });
    const volume = `${t.platformId}-home-ghost`;
    await docker.createVolume({
      Name: volume,
      Labels: { [LABEL_MANAGED]: '1', [LABEL_PLATFORM]: t.platformId, [LABEL_HANDLE]: 'ghost' },
    });
    t.track('ghost');
    const ghost = await docker.createContainer({
      Image: TEST_INSTANCE_IMAGE,
      name: `${t.platformId}-ghost`,
      Labels: { [LABEL_MANAGED]: '1', [LABEL_PLATFORM]: t.platformId, [LABEL_HANDLE]: 'ghost' },
      HostConfig: { Binds: [`${volume}:/home/matrixos/home`] },
    });
    // Someone else's container (another platform id) must be left alone.
    const foreign = await docker.createContainer({
      Image: TEST_INSTANCE_IMAGE,
      Labels: { [LABEL_MANAGED]: '1', [LABEL_PLATFORM]: `${t.platformId}x`, [LABEL_HANDLE]: 'ghost' },
    });
    try {
      const report = (await t.admin('POST', '/admin/sweep')).json<{
        reconciled: { removedOrphans: string[] };
      }>();
      expect(report.reconciled.removedOrphans).toEqual(['ghost']);
      await expect(docker.getContainer(ghost.id).inspect()).rejects.toThrow(/no such container/i);
      expect((await docker.getVolume(volume).inspect()).Name).toBe(volume);
      expect((await foreign.inspect()).Id).toBe(foreign.id);
    } finally {
      await foreign.remove({ force: true, v: true });
    }
  });

  it.each([
    ['after the row is written', 'row'],
    ['after the container is created', 'container'],
  ])('finishes a provision that a killed platform left half done (%s)', async (_name, killAt) => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'matrixos-kill-'));
    const platformId = `t${randomBytes(4).toString('hex')}`;
    const adminToken = newToken('mxa');
    const env = {
      DATA_DIR: dataDir,
      PLATFORM_ID: platformId,
      PLATFORM_ADMIN_TOKEN: adminToken,
      RUNTIME: 'docker',
    };
    const first = await spawnPlatform(env);
    const provision = httpRequest(first.port, {
      method: 'POST',
      path: '/containers/provision',
      body: { handle: 'alice' },
      headers: { authorization: `Bearer ${adminToken}` },
    }).catch(() => null);
    const dbFile = path.join(dataDir, 'platform.db');
    const { default: Database } = await import('better-sqlite3');
    let reached = false;
    for (let i = 0; i < 2000 && !reached; i++) {
      if (killAt === 'row') {
        try {
          const db = new Database(dbFile, { readonly: true, fileMustExist: true });
          const row = db.prepare("select state from instances where handle = 'alice'").get();
          db.close();
          reached = row !== undefined;
        } catch {}
      } else reached = (await containersOf(platformId, 'alice')).length > 0;
      if (!reached) await sleep(5);
    }
    first.child.kill('SIGKILL');
    // Never a silent fall-through: the crash must come at the moment this case is about.
    expect(reached, `the provision never reached "${killAt}"`).toBe(true);
    expect(await provision).toBeNull(); // the client saw the connection die: no answer was given

    try {
      t = await startTestPlatform({ runtime: 'docker', dataDir, platformId, adminToken });
      t.track('alice');
      await t.reconciled;
      const info = await t.admin('GET', '/containers/alice');
      expect(info.json()).toMatchObject({
        instance: { handle: 'alice', state: 'running', lastError: null },
        engine: { state: 'running' },
      });
      expect(await containersOf(platformId, 'alice')).toHaveLength(1);
      expect((await t.instance('alice', { path: '/health' })).json()).toMatchObject({ handle: 'alice' });
    } finally {
      await t?.destroy();
      t = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
