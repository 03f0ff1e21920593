import { randomUUID } from 'node:crypto';
import { HttpError, type Logger } from '@matrixos/shared';
import type { PlatformConfig } from '../config.ts';
import type { Db } from '../db/openDb.ts';
import type { RolloutRow, RolloutStepRow } from '../db/schema.ts';
import type { InstanceStore } from '../instances/store.ts';
import type { Orchestrator } from '../orchestrator/orchestrator.ts';
import { planRollout } from './planRollout.ts';
import { createRolloutStore } from './rolloutStore.ts';

/** A rollout as the admin API and page show it. */
export interface RolloutView {
  id: string;
  image: string;
  state: RolloutRow['state'];
  trigger: RolloutRow['trigger'];
  startedAt: string;
  finishedAt: string | null;
  /** Why it stopped (`failed`): which instance, and what its health check said. */
  error: string | null;
  /** The instance moving now (null when none is). */
  current: string | null;
  counts: Record<RolloutStepRow['outcome'], number> & { total: number };
  steps: {
    handle: string;
    fromImage: string;
    outcome: RolloutStepRow['outcome'];
    error: string | null;
    /** How long its move took (re-create, start, health), in ms; null until it has moved. */
    durationMs: number | null;
  }[];
}

export interface RolloutsDeps {
  db: Db;
  store: InstanceStore;
  orchestrator: Pick<Orchestrator, 'moveImage' | 'targetImage' | 'runtime'>;
  config: Pick<PlatformConfig, 'rollout'>;
  log: Logger;
  clock?: () => number;
}

/**
 * Rolling instance-image upgrades: one at a time, each instance moved to the platform's image and
 * gated on its health check (the orchestrator's `moveImage`), stopping at the first one the image
 * does not come up healthy on (that one is back on its image, the rest never leave theirs). One
 * rollout at a time. Images are never removed here: the previous one stays on the engine for as
 * long as any instance may go back to it.
 */
export function createRollouts(deps: RolloutsDeps) {
  const { orchestrator, log } = deps;
  const clock = deps.clock ?? Date.now;
  const rollouts = createRolloutStore(deps.db);
  let running: { id: string; current: string | null; done: Promise<void> } | undefined;
  let closing = false;
  /** The start's look for a rollout, while it has not decided yet. */
  let resuming: Promise<unknown> = Promise.resolve();

  function view(row: RolloutRow): RolloutView {
    const steps = rollouts.steps(row.id);
    const counts = {
      total: steps.length,
      pending: 0,
      moved: 0,
      on_wake: 0,
      rolled_back: 0,
      skipped: 0,
      not_reached: 0,
    };
    for (const s of steps) counts[s.outcome]++;
    return {
      id: row.id,
      image: row.image,
      state: row.state,
      trigger: row.trigger,
      startedAt: new Date(row.startedAt).toISOString(),
      finishedAt: row.finishedAt === null ? null : new Date(row.finishedAt).toISOString(),
      error: row.error,
      current: running?.id === row.id ? running.current : null,
      counts,
      steps: steps.map((s) => ({
        handle: s.handle,
        fromImage: s.fromImage,
        outcome: s.outcome,
        error: s.error,
        durationMs: s.startedAt !== null && s.finishedAt !== null ? s.finishedAt - s.startedAt : null,
      })),
    };
  }

  async function run(id: string, image: string): Promise<void> {
    for (const step of rollouts.steps(id)) {
      if (closing) {
        rollouts.finish(id, 'interrupted', clock(), 'the platform stopped during the rollout');
        return;
      }
      if (running) running.current = step.handle;
      const startedAt = clock();
      rollouts.updateStep(id, step.handle, { startedAt });
      const moved = await orchestrator
        .moveImage(step.handle, image)
        .catch((err: unknown) => ({ outcome: 'rolled_back' as const, error: (err as Error).message }));
      const error = moved.outcome === 'rolled_back' ? moved.error : null;
      rollouts.updateStep(id, step.handle, { outcome: moved.outcome, error, finishedAt: clock() });
      log.info(
        { rollout: id, handle: step.handle, outcome: moved.outcome, ms: clock() - startedAt },
        'rollout step',
      );
      if (error) {
        // The image is bad (or this host is): nobody else leaves a working image for it.
        rollouts.finish(id, 'failed', clock(), `${step.handle}: ${error}`);
        log.error(
          { rollout: id, image, handle: step.handle, error },
          'rollout stopped: instances stay on their image',
        );
        return;
      }
    }
    rollouts.finish(id, 'done', clock(), null);
    log.info({ rollout: id, image }, 'rollout done');
  }

  /**
   * Starts moving every instance to the configured image as the engine has it now. 409
   * `rollout_running` while one runs, `up_to_date` when every instance runs it already.
   */
  async function begin(trigger: RolloutRow['trigger']): Promise<RolloutView> {
    if (running) throw new HttpError(409, 'rollout_running', 'a rollout is under way: wait for it to finish');
    if (closing) throw new HttpError(503, 'stopping', 'the platform is stopping');
    const image = await orchestrator.targetImage();
    if (running) throw new HttpError(409, 'rollout_running', 'a rollout is under way: wait for it to finish');
    const rows = deps.store.list();
    const handles = planRollout(rows, image, orchestrator.runtime.kind);
    if (handles.length === 0) throw new HttpError(409, 'up_to_date', `every instance runs ${image} already`);
    const imageOf = new Map(rows.map((r) => [r.handle, r.image]));
    const row: RolloutRow = {
      id: randomUUID(),
      image,
      state: 'running',
      trigger,
      startedAt: clock(),
      finishedAt: null,
      error: null,
    };
    rollouts.insert(
      row,
      handles.map((handle) => ({ handle, fromImage: imageOf.get(handle)! })),
    );
    log.info({ rollout: row.id, image, instances: handles.length, trigger }, 'rollout started');
    const entry = { id: row.id, current: null as string | null, done: Promise.resolve() };
    running = entry;
    entry.done = run(row.id, image)
      .catch((err: unknown) => {
        log.error({ err, rollout: row.id }, 'rollout failed');
        rollouts.finish(row.id, 'failed', clock(), (err as Error).message);
      })
      .finally(() => {
        running = undefined;
      });
    return view(row);
  }

  return {
    begin,
    /**
     * At platform start (after the first reconcile): a rollout the last process left running is
     * marked interrupted, and when ROLLOUT_ON_START is on and some instance runs another image
     * than the configured one, a new rollout begins. Never throws (the platform runs regardless).
     */
    resume(): Promise<RolloutView | null> {
      for (const r of rollouts.running())
        rollouts.finish(r.id, 'interrupted', clock(), 'the platform stopped during the rollout');
      if (!deps.config.rollout.onStart || !orchestrator.runtime.resolveImage) return Promise.resolve(null);
      const started = begin('start').catch((err: unknown) => {
        if (!(err instanceof HttpError && err.code === 'up_to_date'))
          log.error({ err: (err as Error).message }, 'no rollout at start');
        return null;
      });
      resuming = started;
      return started;
    },
    /** The newest rollout, or null when there never was one. */
    latest(): RolloutView | null {
      const row = rollouts.latest();
      return row ? view(row) : null;
    },
    /** Every image an instance runs or may go back to: what must stay on the engine. */
    imagesInUse(): string[] {
      const images = new Set<string>();
      for (const r of deps.store.list()) {
        images.add(r.image);
        if (r.previousImage) images.add(r.previousImage);
      }
      return [...images].sort();
    },
    /** Settles once no rollout runs (tests and benches wait for it). */
    async idle(): Promise<void> {
      await resuming;
      await running?.done;
    },
    /** The step under way finishes; the rest are left for the next start. */
    async close(): Promise<void> {
      closing = true;
      await resuming;
      await running?.done;
    },
  };
}

export type Rollouts = ReturnType<typeof createRollouts>;
