import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, createSealer } from '@matrixos/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { openDb } from '../db/openDb.ts';
import { createInstanceStore } from '../instances/store.ts';
import type { RuntimeDriver, RuntimeInstance } from '../runtime/driver.ts';
import { createFakeDriver } from '../runtime/fake/fakeDriver.ts';
import { createOrchestrator, type Progress } from './orchestrator.ts';

/**
 * What the orchestrator does for an engine of many nodes that cannot pause (swarm), on the
 * in-memory engine dressed as one: the node is recorded, the engine's start steps reach the
 * progress feed, and an idle pause becomes a stop.
 */
describe('orchestrator on a clustered engine', () => {
  let dir: string;
  let db: ReturnType<typeof openDb>;
  let store: ReturnType<typeof createInstanceStore>;
  let orchestrator: ReturnType<typeof createOrchestrator>;
  const progress: Progress[] = [];
  /** What `inspect` answers instead of the fake engine (a node that went away). */
  let inspectAs: RuntimeInstance | null = null;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'matrixos-cluster-'));
    db = openDb(path.join(dir, 'platform.db'));
    store = createInstanceStore(db);
    const fake = createFakeDriver();
    const runtime: RuntimeDriver = {
      ...fake,
      pausable: false,
      async pause() {
        throw new Error('this engine cannot pause');
      },
      async inspect(id) {
        return inspectAs ?? fake.inspect(id);
      },
      // The engine's listing says the same as its inspect (the reconciler trusts a listing that agrees).
      async list(filter) {
        return inspectAs ? [inspectAs] : fake.list(filter);
      },
      async start(id, opts) {
        if (inspectAs) throw new Error(`alice cannot start: ${inspectAs.unavailable}`);
        opts?.onProgress?.('Swarm: assigned to its node');
        return { ...(await fake.start(id)), node: 'node2' };
      },
    };
    orchestrator = createOrchestrator({
      store,
      runtime,
      sealer: createSealer(randomBytes(32)),
      config: loadConfig({ DATA_DIR: dir, INSTANCE_IMAGE: 'fake:1' }),
      log: createLogger('test', 'silent'),
      waitReady: fake.waitReady,
    });
    progress.length = 0;
    inspectAs = null;
    orchestrator.events.on('progress', (p) => progress.push(p));
  });
  afterEach(() => {
    db.$client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records the node the engine put the instance on, and shows it', async () => {
    const { instance } = await orchestrator.provision('alice');
    expect(instance.node).toBe('node2');
    expect(store.get('alice')!.node).toBe('node2');
  });

  it("passes the engine's own start steps to the progress feed", async () => {
    await orchestrator.provision('alice');
    expect(progress.map((p) => p.message)).toContain('Swarm: assigned to its node');
  });

  it('stops an idle instance instead of pausing it when the engine cannot pause', async () => {
    await orchestrator.provision('alice');
    const view = await orchestrator.pause('alice');
    expect(view?.state).toBe('stopped');
    expect(orchestrator.route('alice')).toEqual({ state: 'stopped', endpoint: null });
  });

  it("reports the engine's reason when an instance stopped behind its back (its node is lost)", async () => {
    await orchestrator.provision('alice');
    const row = store.get('alice')!;
    inspectAs = {
      id: row.engineId!,
      handle: 'alice',
      state: 'stopped',
      endpoint: null,
      unavailable: 'its data is on node node2, which is down',
    };
    await orchestrator.reconcile().catch(() => undefined);
    expect(store.get('alice')!.lastError).toMatch(/which is down/);
  });
});
