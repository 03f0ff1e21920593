import type { Logger } from '@matrixos/shared';
import type { PlatformConfig } from '../config.ts';
import type { InstanceStore } from '../instances/store.ts';
import type { PlatformMetrics } from '../metrics/platformMetrics.ts';
import type { Orchestrator, ReconcileReport } from '../orchestrator/orchestrator.ts';
import type { Endpoint } from '../runtime/driver.ts';
import type { Activity } from './activity.ts';

/** The longest a sweep step waits for wakes under way before it goes on anyway. */
const WAKE_YIELD_MS = 10_000;

export interface SweepReport {
  stopped: string[];
  paused: string[];
  reconciled: ReconcileReport;
}

export interface LifecycleDeps {
  orchestrator: Orchestrator;
  store: InstanceStore;
  activity: Activity;
  config: Pick<PlatformConfig, 'lifecycle'>;
  log: Logger;
  clock?: () => number;
  /** An instance that must stay up for now whatever its idleness (a job is about to run). */
  keepAwake?: (handle: string) => boolean;
  /** Counts wakes (outcome, time). */
  metrics?: Pick<PlatformMetrics, 'wake'>;
  /** False where the engine cannot freeze (swarm): no freeze tier, idle instances stop at IDLE_TIMEOUT. */
  canFreeze?: boolean;
}

/**
 * Sleep and wake. Instances idle past `PAUSE_AFTER` are frozen, and past `IDLE_TIMEOUT` stopped;
 * the next request wakes them, with one start however many requests are waiting. Each sweep
 * also reconciles the engine with the database.
 */
export function createLifecycle(deps: LifecycleDeps) {
  const { orchestrator, store, activity, log } = deps;
  const { idleTimeoutMs, sweepIntervalMs, sweepParallel } = deps.config.lifecycle;
  const pauseAfterMs = deps.canFreeze === false ? 0 : deps.config.lifecycle.pauseAfterMs;
  const clock = deps.clock ?? Date.now;
  const waking = new Map<string, Promise<Endpoint>>();
  let timer: NodeJS.Timeout | undefined;
  let unwatch: (() => void) | undefined;
  let sweeping: Promise<SweepReport> | undefined;

  /** The endpoint of a running instance, starting or resuming it first if it sleeps. */
  function wake(handle: string): Promise<Endpoint> {
    const route = orchestrator.route(handle);
    if (route?.state === 'running' && route.endpoint) return Promise.resolve(route.endpoint);
    let pending = waking.get(handle);
    if (!pending) {
      const started = orchestrator.start(handle).then(() => {
        const now = orchestrator.route(handle);
        if (!now?.endpoint) throw new Error(`instance "${handle}" stopped again while waking`);
        return now.endpoint;
      });
      pending = (deps.metrics ? deps.metrics.wake(started) : started).finally(() => waking.delete(handle));
      waking.set(handle, pending);
    }
    return pending;
  }

  function lastActive(handle: string): number {
    return Math.max(activity.lastSeen(handle) ?? 0, store.get(handle)?.lastActiveAt ?? 0);
  }

  function idleFor(handle: string, limitMs: number): () => boolean {
    return () =>
      activity.openCount(handle) === 0 &&
      !waking.has(handle) &&
      clock() - lastActive(handle) >= limitMs &&
      !deps.keepAwake?.(handle);
  }

  /** Writes what this process saw to the row, so a restart knows how long each has been idle. */
  function persistActivity(row: { handle: string; lastActiveAt: number }): void {
    const seen = activity.lastSeen(row.handle);
    if (seen && seen > row.lastActiveAt) store.update(row.handle, { lastActiveAt: seen });
  }

  /**
   * Wakes come first: a sweep step waits while any wake is under way (up to `WAKE_YIELD_MS`, so a
   * steady stream of wakes cannot keep idle instances up forever).
   */
  async function yieldToWakes(): Promise<void> {
    const until = clock() + WAKE_YIELD_MS;
    while (waking.size > 0 && clock() < until) {
      let timer: NodeJS.Timeout | undefined;
      const giveUp = new Promise((resolve) => {
        timer = setTimeout(resolve, Math.max(1, until - clock()));
      });
      await Promise.race([Promise.allSettled([...waking.values()]), giveUp]);
      clearTimeout(timer);
    }
  }

  async function sweepOnce(): Promise<SweepReport> {
    const stopped: string[] = [];
    const paused: string[] = [];
    type Item = { handle: string; stopNow: () => boolean; pauseNow: () => boolean; pause: boolean };
    // Freezes, and stops of instances still running, SWEEP_PARALLEL at a time: one by one, 99
    // stops took 23 s. Stops of frozen instances one at a time: they cost nothing meanwhile, and
    // a stop is the engine's most expensive step (Docker 20.10 on 2 cores stops ~10 containers/s
    // however many are asked, and even 2 at once took more than half a busy tenant's throughput).
    const urgent: Item[] = [];
    const reclaim: Item[] = [];
    for (const row of store.list()) {
      const { handle } = row;
      if (activity.openCount(handle) > 0) activity.touch(handle);
      persistActivity(row);
      if (row.state !== 'running' && row.state !== 'paused') continue;
      const stopNow = idleFor(handle, idleTimeoutMs);
      const pauseNow = idleFor(handle, pauseAfterMs);
      if (idleTimeoutMs > 0 && stopNow())
        (row.state === 'paused' ? reclaim : urgent).push({ handle, stopNow, pauseNow, pause: false });
      else if (pauseAfterMs > 0 && row.state === 'running' && pauseNow())
        urgent.push({ handle, stopNow, pauseNow, pause: true });
    }
    const worker = (due: Item[]) => async () => {
      while (due.length > 0) {
        const item = due.shift()!;
        await yieldToWakes();
        try {
          // Each guard is checked again under the handle's lock: a request since the listing wins.
          if (!item.pause) {
            if (await orchestrator.stop(item.handle, { onlyIf: item.stopNow })) stopped.push(item.handle);
          } else if (await orchestrator.pause(item.handle, { onlyIf: item.pauseNow }))
            paused.push(item.handle);
        } catch (err) {
          log.error({ handle: item.handle, err }, 'idle sweep could not put an instance to sleep');
        }
      }
    };
    await Promise.all([
      ...Array.from({ length: Math.min(sweepParallel, urgent.length) }, worker(urgent)),
      ...(reclaim.length ? [worker(reclaim)()] : []),
    ]);
    if (stopped.length || paused.length) log.info({ stopped, paused }, 'idle sweep');
    await yieldToWakes();
    return { stopped, paused, reconciled: await orchestrator.reconcile() };
  }

  /** One sweep now; a sweep already running is joined, not doubled. */
  function sweep(): Promise<SweepReport> {
    sweeping ??= sweepOnce().finally(() => {
      sweeping = undefined;
    });
    return sweeping;
  }

  return {
    wake,
    sweep,
    /**
     * Follows the engine's events (an instance stopped or removed behind the platform's back is
     * known at once), checks the instance image, reconciles once, then sweeps every `SWEEP_INTERVAL`.
     */
    start(): Promise<ReconcileReport> {
      unwatch ??= orchestrator.watchEngine();
      void orchestrator.checkImage().then((problem) => {
        if (problem) log.error({ image: problem }, `new instances cannot start: ${problem}`);
      });
      timer = setInterval(() => {
        sweep().catch((err) => log.error({ err }, 'sweep failed'));
      }, sweepIntervalMs);
      timer.unref();
      return orchestrator.reconcile();
    },
    async close(): Promise<void> {
      clearInterval(timer);
      unwatch?.();
      unwatch = undefined;
      await sweeping?.catch(() => undefined);
      for (const row of store.list()) persistActivity(row);
    },
  };
}

export type Lifecycle = ReturnType<typeof createLifecycle>;
