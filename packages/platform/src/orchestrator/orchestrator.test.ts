import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, createSealer, HttpError } from '@matrixos/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { openDb } from '../db/openDb.ts';
import { createInstanceStore } from '../instances/store.ts';
import { createFakeDriver, type FakeDriver, type FakeStep } from '../runtime/fake/fakeDriver.ts';
import { authContext, createOrchestrator, type EngineChange, type Orchestrator } from './orchestrator.ts';

/** The orchestrator's own logic, on the in-memory engine: every failure path, deterministically. */
describe('orchestrator (fake engine)', () => {
  let dir: string;
  let runtime: FakeDriver;
  let orchestrator: Orchestrator;
  let store: ReturnType<typeof createInstanceStore>;
  let db: ReturnType<typeof openDb>;
  const sealer = createSealer(randomBytes(32));
  /** The LLM proxy's key registry, as the orchestrator sees it. */
  let keys: Map<string, string>;
  let failKeys: 'register' | 'revoke' | null;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'matrixos-orch-'));
    db = openDb(path.join(dir, 'platform.db'));
    store = createInstanceStore(db);
    runtime = createFakeDriver();
    keys = new Map();
    failKeys = null;
    orchestrator = createOrchestrator({
      store,
      runtime,
      sealer,
      config: loadConfig({ DATA_DIR: dir, INSTANCE_IMAGE: 'fake:1' }),
      log: createLogger('test', 'silent'),
      waitReady: runtime.waitReady,
      llmKeys: {
        async register(handle, token) {
          if (failKeys === 'register') throw new Error('the LLM proxy is down');
          keys.set(handle, token);
        },
        async revoke(handle) {
          if (failKeys === 'revoke') throw new Error('the LLM proxy is down');
          keys.delete(handle);
        },
      },
    });
  });
  afterEach(() => {
    db.$client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const nothingLeft = () => {
    expect(store.list()).toEqual([]);
    expect(runtime.snapshot()).toEqual({ instances: [], volumes: [] });
    expect(keys.size).toBe(0);
    expect(orchestrator.route('alice')).toBeUndefined();
  };

  describe('a provision failing at each step leaves nothing behind', () => {
    it.each<FakeStep>(['ensureVolume', 'list', 'create', 'start', 'waitReady'])(
      'failing at %s: no row, no instance, no volume, no key; a 503 that says why',
      async (step) => {
        runtime.failOn(step);
        const err = await orchestrator.provision('alice').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(HttpError);
        expect(err).toMatchObject({ status: 503, code: 'provision_failed' });
        expect((err as Error).message).toContain(`injected failure at ${step}`);
        nothingLeft();
        expect(orchestrator.lastProgress('alice')).toMatchObject({
          step: 'failed',
          message: expect.stringContaining('Try again'),
        });
        // And the next attempt works from scratch.
        expect((await orchestrator.provision('alice')).created).toBe(true);
        expect(runtime.snapshot().instances).toHaveLength(1);
      },
    );

    it('failing at the key registration: nothing behind, the volume not even made', async () => {
      failKeys = 'register';
      await expect(orchestrator.provision('alice')).rejects.toMatchObject({ code: 'provision_failed' });
      nothingLeft();
      expect(runtime.calls.map((c) => c.step)).not.toContain('ensureVolume');
    });

    it('a compensation step that fails itself leaves an orphan the next reconcile removes', async () => {
      runtime.failOn('waitReady');
      runtime.failOn('remove');
      await expect(orchestrator.provision('alice')).rejects.toMatchObject({ code: 'provision_failed' });
      expect(store.list()).toEqual([]);
      expect(runtime.snapshot().instances).toHaveLength(1);
      const report = await orchestrator.reconcile();
      expect(report.removedOrphans).toEqual(['alice']);
      expect(runtime.snapshot().instances).toEqual([]);
    });

    it('a failed revocation during compensation still leaves no row and no instance', async () => {
      runtime.failOn('start');
      failKeys = 'revoke';
      await expect(orchestrator.provision('alice')).rejects.toMatchObject({ code: 'provision_failed' });
      expect(store.list()).toEqual([]);
      expect(runtime.snapshot()).toEqual({ instances: [], volumes: [] });
    });

    it('removes the volume only when this call made it: a restore that fails keeps the data', async () => {
      await orchestrator.provision('alice');
      const volume = store.get('alice')!.volume!;
      await orchestrator.destroy('alice', { deleteData: false });
      runtime.failOn('waitReady');
      await expect(orchestrator.provision('alice', { restoreData: true })).rejects.toMatchObject({
        code: 'provision_failed',
      });
      expect(runtime.snapshot()).toEqual({ instances: [], volumes: [volume] });
      expect(store.kept.get('alice')).toMatchObject({ volume });
      expect(orchestrator.reserved('alice')).not.toBeNull();
    });

    it('refuses at once, touching nothing, when the image is not on the engine', async () => {
      runtime.resolveImage = async () => null;
      const err = await orchestrator.provision('alice').catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 503, code: 'image_missing' });
      expect((err as Error).message).toBe(
        'image fake:1 is not on the engine: run npm run build:image (bash scripts/build-image.sh)',
      );
      nothingLeft();
      expect(orchestrator.lastProgress('alice')).toMatchObject({
        step: 'failed',
        message: expect.stringContaining('npm run build:image'),
      });
      expect(await orchestrator.checkImage()).toContain('is not on the engine');
    });
  });

  describe('other operations failing at the engine', () => {
    it.each<[FakeStep, (o: Orchestrator) => Promise<unknown>, string]>([
      ['stop', (o) => o.stop('alice'), 'stop_failed'],
      ['pause', (o) => o.pause('alice'), 'pause_failed'],
      ['remove', (o) => o.destroy('alice', { deleteData: true }), 'destroy_failed'],
      ['start', (o) => o.restart('alice'), 'start_failed'],
    ])(
      '%s failing: a 503 that says why, the row kept with its error, and the next call works',
      async (step, op, code) => {
        await orchestrator.provision('alice');
        runtime.failOn(step);
        await expect(op(orchestrator)).rejects.toMatchObject({ status: 503, code });
        expect(orchestrator.get('alice').lastError).toBe(`injected failure at ${step}`);
        expect(orchestrator.route('alice')).toBeUndefined();
        expect(runtime.snapshot().volumes).toHaveLength(1);
        await op(orchestrator);
      },
    );
  });

  describe('kept data', () => {
    it('reserves the handle: a plain provision is refused, and a new one gets a new volume', async () => {
      await orchestrator.provision('alice');
      const first = store.get('alice')!.volume!;
      expect(first).toMatch(/^alice_[0-9a-f]{12}$/);
      runtime.files(first)!.set('secret.txt', 'of the first owner');
      await orchestrator.destroy('alice', { deleteData: false });
      expect(orchestrator.reserved('alice')).toBe('it belonged to an earlier account, whose data is kept');
      await expect(orchestrator.provision('alice')).rejects.toMatchObject({
        status: 409,
        code: 'handle_reserved',
      });
      expect(runtime.snapshot().instances).toEqual([]);

      await expect(orchestrator.deleteKeptData('bob')).rejects.toMatchObject({ code: 'no_kept_data' });
      await orchestrator.deleteKeptData('alice');
      expect(orchestrator.reserved('alice')).toBeNull();
      expect(runtime.snapshot().volumes).toEqual([]);
      await orchestrator.provision('alice');
      const second = store.get('alice')!.volume!;
      expect(second).not.toBe(first);
      expect(runtime.snapshot().instances[0]!.volume).toBe(second);
      expect(runtime.files(second)!.size).toBe(0);
    });

    it('refuses to delete the data of a handle that has an instance', async () => {
      await orchestrator.provision('alice');
      await expect(orchestrator.deleteKeptData('alice')).rejects.toMatchObject({ code: 'instance_exists' });
      expect(runtime.snapshot().volumes).toHaveLength(1);
    });

    it('reserves, at reconcile, a volume that has no instance and no record (kept by an older version)', async () => {
      await runtime.ensureVolume('carol');
      expect(orchestrator.reserved('carol')).toBeNull();
      expect((await orchestrator.reconcile()).reserved).toEqual(['carol']);
      expect(orchestrator.reserved('carol')).not.toBeNull();
      expect(runtime.snapshot().volumes).toEqual(['carol']);
      expect((await orchestrator.reconcile()).reserved).toEqual([]);
    });
  });

  describe('engine events', () => {
    const changed = () => once(orchestrator.events, 'engineChanged') as Promise<[EngineChange]>;

    it('reads an instance stopped behind its back as stopped, at once', async () => {
      orchestrator.watchEngine();
      await orchestrator.provision('alice');
      expect(orchestrator.route('alice')?.state).toBe('running');
      const next = changed();
      runtime.behindTheBack.stop(store.get('alice')!.engineId!);
      expect(await next).toEqual([{ handle: 'alice', state: 'stopped' }]);
      expect(orchestrator.route('alice')).toEqual({ state: 'stopped', endpoint: null });
      expect(orchestrator.get('alice')).toMatchObject({
        state: 'stopped',
        lastError: 'the instance stopped outside the platform',
      });
      // Waking it is a plain start again.
      expect(await orchestrator.start('alice')).toMatchObject({ state: 'running', lastError: null });
    });

    it('reads an instance removed behind its back as stopped, and re-creates it on the next start', async () => {
      orchestrator.watchEngine();
      await orchestrator.provision('alice');
      const volume = store.get('alice')!.volume;
      const next = changed();
      runtime.behindTheBack.remove(store.get('alice')!.engineId!);
      expect(await next).toEqual([{ handle: 'alice', state: 'removed' }]);
      expect(orchestrator.get('alice')).toMatchObject({ state: 'stopped', engineId: null });
      await orchestrator.start('alice');
      expect(runtime.snapshot().instances).toMatchObject([{ handle: 'alice', volume, state: 'running' }]);
    });

    it('does not take its own stops, pauses and restarts for news', async () => {
      orchestrator.watchEngine();
      const seen: EngineChange[] = [];
      orchestrator.events.on('engineChanged', (c) => seen.push(c));
      await orchestrator.provision('alice');
      await orchestrator.pause('alice');
      await orchestrator.start('alice');
      await orchestrator.restart('alice');
      await orchestrator.stop('alice');
      await orchestrator.destroy('alice', { deleteData: true });
      // Every event handler runs under the handle's lock: once this runs, all of them have.
      await orchestrator.provision('alice');
      expect(seen).toEqual([]);
    });
  });

  describe('token rotation', () => {
    it('gives a new token, re-creates the instance with it, and keeps the data', async () => {
      const { token: old } = await orchestrator.provision('alice');
      const before = runtime.snapshot().instances[0]!;
      const rotated: string[] = [];
      orchestrator.events.on('tokenRotated', (h) => rotated.push(h));
      const { token, instance } = await orchestrator.rotateToken('alice');
      expect(token).toMatch(/^mxi_/);
      expect(token).not.toBe(old);
      expect(instance.state).toBe('running');
      const after = runtime.snapshot().instances;
      expect(after).toHaveLength(1);
      expect(after[0]!.id).not.toBe(before.id);
      expect(after[0]!.env.MATRIX_AUTH_TOKEN).toBe(token);
      expect(after[0]!.volume).toBe(before.volume);
      expect(sealer.open(store.get('alice')!.authTokenSealed, authContext('alice'))).toBe(token);
      expect(rotated).toEqual(['alice']);
    });

    it('leaves a stopped instance stopped (it starts with the new token when woken)', async () => {
      await orchestrator.provision('alice');
      await orchestrator.stop('alice');
      const { token, instance } = await orchestrator.rotateToken('alice');
      expect(instance.state).toBe('stopped');
      expect(runtime.snapshot().instances).toEqual([]);
      await orchestrator.start('alice');
      expect(runtime.snapshot().instances[0]!.env.MATRIX_AUTH_TOKEN).toBe(token);
    });

    it('still returns the new token when the restart fails: it is the only copy', async () => {
      await orchestrator.provision('alice');
      runtime.failOn('waitReady');
      const { token, instance } = await orchestrator.rotateToken('alice');
      expect(sealer.open(store.get('alice')!.authTokenSealed, authContext('alice'))).toBe(token);
      expect(instance.lastError).toContain('injected failure at waitReady');
    });

    it('404s an unknown instance', async () => {
      await expect(orchestrator.rotateToken('nobody')).rejects.toMatchObject({ status: 404 });
    });
  });

  it('looks up one handle by its label, never by listing every instance', async () => {
    await orchestrator.provision('alice');
    await orchestrator.stop('alice');
    await orchestrator.start('alice');
    const unfiltered = runtime.calls.filter((c) => c.step === 'list' && c.arg === undefined);
    expect(unfiltered).toEqual([]);
  });

  describe('moving to another image (a rollout step)', () => {
    /** The image of every instance the engine was asked to create, in order. */
    let created: string[];
    beforeEach(() => {
      created = [];
      const create = runtime.create.bind(runtime);
      runtime.create = (spec) => {
        created.push(spec.image);
        return create(spec);
      };
    });

    it('moves an awake instance: re-created on the new image, healthy, the trial over', async () => {
      await orchestrator.provision('alice');
      expect(await orchestrator.moveImage('alice', 'fake:2')).toEqual({ outcome: 'moved' });
      expect(created).toEqual(['fake:1', 'fake:2']);
      expect(store.get('alice')).toMatchObject({ image: 'fake:2', previousImage: null, state: 'running' });
      expect(runtime.snapshot().instances).toHaveLength(1);
      expect(await orchestrator.moveImage('alice', 'fake:2')).toEqual({ outcome: 'skipped' });
    });

    it('an image that does not become healthy: the instance is back on its image, running, and says why', async () => {
      await orchestrator.provision('alice');
      runtime.failOn('waitReady');
      const moved = await orchestrator.moveImage('alice', 'fake:2');
      expect(moved).toMatchObject({
        outcome: 'rolled_back',
        error: expect.stringContaining('fake:2 did not become healthy'),
      });
      expect(created).toEqual(['fake:1', 'fake:2', 'fake:1']);
      expect(store.get('alice')).toMatchObject({ image: 'fake:1', previousImage: null, state: 'running' });
      expect(store.get('alice')?.lastError).toMatch(/back on fake:1/);
      expect(orchestrator.route('alice')?.state).toBe('running');
      expect(runtime.snapshot().instances).toMatchObject([{ handle: 'alice', state: 'running' }]);
    });

    it('a sleeping instance moves at its next wake, and goes back there if the image fails', async () => {
      await orchestrator.provision('alice');
      await orchestrator.stop('alice');
      expect(await orchestrator.moveImage('alice', 'fake:2')).toEqual({ outcome: 'on_wake' });
      // No container until it wakes; the volume stays.
      expect(runtime.snapshot().instances).toEqual([]);
      expect(store.get('alice')).toMatchObject({
        image: 'fake:2',
        previousImage: 'fake:1',
        state: 'stopped',
      });
      runtime.failOn('waitReady');
      await orchestrator.start('alice');
      expect(created).toEqual(['fake:1', 'fake:2', 'fake:1']);
      expect(store.get('alice')).toMatchObject({ image: 'fake:1', previousImage: null, state: 'running' });
      expect(store.get('alice')?.lastError).toMatch(/did not become healthy/);
    });

    it('a sleeping instance whose new image works keeps it from its wake on', async () => {
      await orchestrator.provision('alice');
      await orchestrator.stop('alice');
      await orchestrator.moveImage('alice', 'fake:2');
      await orchestrator.start('alice');
      expect(created).toEqual(['fake:1', 'fake:2']);
      expect(store.get('alice')).toMatchObject({ image: 'fake:2', previousImage: null, lastError: null });
    });
  });
});
