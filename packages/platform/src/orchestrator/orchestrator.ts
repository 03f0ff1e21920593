import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  HANDLE_RULES,
  HttpError,
  type Logger,
  newToken,
  type Sealer,
  validateHandle,
} from '@matrixos/shared';
import { instanceUrl, type PlatformConfig } from '../config.ts';
import type { InstanceRow, InstanceState } from '../db/schema.ts';
import type { InstanceStore } from '../instances/store.ts';
import { type InstanceView, toView } from '../instances/toView.ts';
import type { LlmKeys } from '../llm/proxyClient.ts';
import type { PlatformMetrics } from '../metrics/platformMetrics.ts';
import type {
  Endpoint,
  InstanceSpec,
  ResourceLimits,
  RuntimeDriver,
  RuntimeEvent,
  RuntimeInstance,
} from '../runtime/driver.ts';
import { handleOfVolume } from '../runtime/validate.ts';
import { createKeyedMutex } from './keyedMutex.ts';
import { createRouteTable, type RoutePublisher } from './routeTable.ts';

export type ProgressStep = 'queued' | 'creating' | 'starting' | 'resuming' | 'health' | 'ready' | 'failed';

/** One step of a provision or wake, as the "waking up" page and the signup progress show it. */
export interface Progress {
  handle: string;
  step: ProgressStep;
  message: string;
  at: number;
}

/** What the router needs, synchronously, for every request. */
export interface RouteEntry {
  state: InstanceState | 'stopping';
  endpoint: Endpoint | null;
}

export interface ReconcileReport {
  adopted: string[];
  removedOrphans: string[];
  recreated: string[];
  started: string[];
  stopped: string[];
  /** Volumes with neither an instance nor a record of being kept (older versions): now reserved. */
  reserved: string[];
  errors: { handle: string; error: string }[];
}

/** What an engine event changed (tests and logs); null when the platform already knew. */
export interface EngineChange {
  handle: string;
  state: 'running' | 'paused' | 'stopped' | 'removed';
}

export interface OrchestratorDeps {
  store: InstanceStore;
  runtime: RuntimeDriver;
  sealer: Sealer;
  config: Pick<PlatformConfig, 'publicUrl' | 'instance' | 'lifecycle' | 'proxyPort' | 'rollout'>;
  log: Logger;
  waitReady: (endpoint: Endpoint, opts: { timeoutMs: number; handle: string }) => Promise<void>;
  /** The LLM proxy's key registry; absent when no proxy runs (the instance's AI then has no budget). */
  llmKeys?: LlmKeys;
  clock?: () => number;
  /** More environment for an instance: the platform's instance API URL, its jobs repo (issue 9). */
  instanceEnv?: (handle: string) => Record<string, string>;
  /** The user's plan's limits over the defaults (INSTANCE_MEMORY, INSTANCE_CPUS); null: the defaults. */
  planLimits?: (handle: string) => Partial<ResourceLimits> | null;
  /**
   * Accounts elsewhere the instance needs in its environment from its first start (its Matrix
   * accounts): awaited before the first start; a failure is the hook's to log, not the provision's.
   */
  beforeFirstStart?: (handle: string) => Promise<void>;
  /** Counts provisions (outcome, time) and reconciler repairs. */
  metrics?: Pick<PlatformMetrics, 'provision' | 'reconciled'>;
  /** The native edge: told where each running instance answers (absent: the router is the edge). */
  routePublisher?: RoutePublisher;
}

/** What each sealed instance secret is bound to: moved to another row or column, it will not open. */
export const authContext = (handle: string) => `instance-auth:${handle}`;
const proxyContext = (handle: string) => `instance-proxy:${handle}`;

/** Stop grace: the gateway finishes in-flight requests within 5 s of SIGTERM. */
const STOP_GRACE_MS = 6000;

const PROGRESS_TEXT: Record<ProgressStep, string> = {
  queued: 'Getting ready',
  creating: 'Creating your instance',
  starting: 'Starting your instance',
  resuming: 'Resuming your instance',
  health: 'Waiting for it to answer',
  ready: 'Ready',
  failed: 'It did not start',
};

/**
 * Provision, start, stop, pause, destroy and reconcile, one operation at a time per handle.
 * The database holds the desired state; the engine is asked, never assumed.
 */
export function createOrchestrator(deps: OrchestratorDeps) {
  const { store, runtime, sealer, config, log } = deps;
  const clock = deps.clock ?? Date.now;
  const mutex = createKeyedMutex();
  const routes = createRouteTable(deps.routePublisher, log);
  const events = new EventEmitter<{
    progress: [Progress];
    /** A handle got its instance row for the first time (a sign-up, or an admin's provision). */
    created: [string];
    destroyed: [string];
    /** The instance's API token changed: caches of the old one must go. */
    tokenRotated: [string];
    /** The engine changed an instance behind the platform's back, and the routes now say so. */
    engineChanged: [EngineChange];
  }>();
  events.setMaxListeners(0);
  /** The last step per handle, so a page that connects late still sees where things stand. */
  const lastProgress = new Map<string, Progress>();

  function progress(handle: string, step: ProgressStep, detail?: string): void {
    const p = { handle, step, message: detail ?? PROGRESS_TEXT[step], at: clock() };
    lastProgress.set(handle, p);
    events.emit('progress', p);
  }

  /** The volume key of a row: its generation's, or the handle for rows made before generations. */
  const volumeOf = (row: Pick<InstanceRow, 'handle' | 'volume'>) => row.volume ?? row.handle;

  /** A fresh volume key: a new account's instance never mounts a volume an older one used. */
  const newVolume = (handle: string) => `${handle}_${randomBytes(6).toString('hex')}`;

  function mustGet(handle: string): InstanceRow {
    const row = store.get(handle);
    if (!row) throw new HttpError(404, 'not_found', `no instance "${handle}"`);
    return row;
  }

  const limitsOf = (handle: string): ResourceLimits => ({
    ...config.instance.limits,
    ...deps.planLimits?.(handle),
  });

  function spec(row: InstanceRow): InstanceSpec {
    const env: Record<string, string> = {
      MATRIXOS_MODE: 'platform',
      MATRIX_HANDLE: row.handle,
      MATRIX_AUTH_TOKEN: sealer.open(row.authTokenSealed, authContext(row.handle)),
      // Each instance's own key for the LLM proxy: the proxy knows the caller from it alone.
      ANTHROPIC_API_KEY: sealer.open(row.proxyTokenSealed, proxyContext(row.handle)),
    };
    env.ANTHROPIC_BASE_URL = config.instance.proxyUrl ?? `http://${runtime.hostName()}:${config.proxyPort}`;
    // Channels: where Telegram's webhook reaches this instance (through the router).
    env.MATRIXOS_PUBLIC_URL = instanceUrl(config, row.handle);
    if (config.instance.telegramApiRoot) env.TELEGRAM_API_ROOT = config.instance.telegramApiRoot;
    Object.assign(env, deps.instanceEnv?.(row.handle));
    return {
      handle: row.handle,
      volume: volumeOf(row),
      image: row.image,
      env,
      limits: limitsOf(row.handle),
    };
  }

  /** Engine objects labelled with this handle, whatever the row says. */
  async function engineObjectsOf(row: InstanceRow): Promise<RuntimeInstance[]> {
    const found = new Map<string, RuntimeInstance>();
    if (row.engineId) {
      const rt = await runtime.inspect(row.engineId);
      if (rt) found.set(rt.id, rt);
    }
    for (const rt of await runtime.list({ handle: row.handle })) found.set(rt.id, rt);
    return [...found.values()];
  }

  /**
   * Brings a row's engine object up and healthy: recreates it if the engine lost it, adopts a
   * labelled one the row does not know, resumes or starts it. Caller holds the handle's lock.
   */
  async function bringUp(row: InstanceRow): Promise<{ endpoint: Endpoint; recreated: boolean }> {
    if (row.runtime !== runtime.kind) {
      throw new HttpError(
        409,
        'runtime_mismatch',
        `instance "${row.handle}" lives on the ${row.runtime} runtime, but this platform runs ${runtime.kind}`,
      );
    }
    let rt = row.engineId ? await runtime.inspect(row.engineId) : null;
    rt ??= (await runtime.list({ handle: row.handle }))[0] ?? null;
    let recreated = false;
    if (!rt) {
      progress(row.handle, 'creating');
      await runtime.ensureVolume(volumeOf(row));
      rt = await runtime.create(spec(row));
      recreated = true;
    }
    if (rt.id !== row.engineId) store.update(row.handle, { engineId: rt.id, updatedAt: clock() });
    if (rt.state === 'paused') {
      progress(row.handle, 'resuming');
      rt = await runtime.resume(rt.id);
    } else if (rt.state === 'stopped') {
      progress(row.handle, 'starting');
      // What the plan (or INSTANCE_MEMORY/CPUS) says now, in case it changed while it slept.
      if (!recreated) await runtime.setLimits?.(rt.id, limitsOf(row.handle));
      // The engine's own steps (Swarm's task states and errors) reach the progress page too.
      rt = await runtime.start(rt.id, { onProgress: (m) => progress(row.handle, 'starting', m) });
    }
    // Where its data is (swarm): the admin page shows it, and it outlives a lost node's answers.
    if (rt.node && rt.node !== store.get(row.handle)?.node) store.update(row.handle, { node: rt.node });
    if (!rt.endpoint) throw new Error('the engine reports no address for the running instance');
    progress(row.handle, 'health');
    // Twice what a waiting request is given (WAKE_TIMEOUT): a slow start that made one request give
    // up still completes for the next one, and the two deadlines never race each other. An image on
    // trial has the rollout's own bound: past it, the instance goes back to the image it ran.
    const timeoutMs = row.previousImage ? config.rollout.healthTimeoutMs : 2 * config.lifecycle.wakeTimeoutMs;
    await deps.waitReady(rt.endpoint, { timeoutMs, handle: row.handle });
    return { endpoint: rt.endpoint, recreated };
  }

  /**
   * `bringUp`, and for an instance whose image is on trial (`previousImage`, set by `moveImage`):
   * when the new image does not come up healthy, its container goes and the instance starts again
   * on the image it ran before (same volume). Either way the trial ends. `rolledBack` says why it
   * went back. Caller holds the handle's lock.
   */
  async function bringUpOnTrial(
    row: InstanceRow,
  ): Promise<{ endpoint: Endpoint; recreated: boolean; rolledBack: string | null }> {
    const previous = row.previousImage;
    if (!previous) return { ...(await bringUp(row)), rolledBack: null };
    try {
      const up = await bringUp(row);
      store.update(row.handle, { previousImage: null, updatedAt: clock() });
      return { ...up, rolledBack: null };
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      log.error(
        { handle: row.handle, image: row.image, back: previous, reason },
        'new image unhealthy: rolling back',
      );
      for (const rt of await engineObjectsOf(row)) await runtime.remove(rt.id);
      store.update(row.handle, { image: previous, previousImage: null, engineId: null, updatedAt: clock() });
      const up = await bringUp(store.get(row.handle)!);
      return {
        ...up,
        rolledBack: `image ${row.image} did not become healthy (${reason}); back on ${previous}`,
      };
    }
  }

  function markRunning(handle: string, endpoint: Endpoint): void {
    const now = clock();
    store.update(handle, { state: 'running', updatedAt: now, lastActiveAt: now, lastError: null });
    routes.set(handle, { state: 'running', endpoint });
    progress(handle, 'ready');
  }

  function markFailed(handle: string, err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    if (store.get(handle)) store.update(handle, { lastError: message, updatedAt: clock() });
    routes.delete(handle);
    // The person watching the progress is told it ended, and what to do now, not left waiting.
    progress(handle, 'failed', failureText(message));
    return message;
  }

  /**
   * The image new instances run from, pinned (see `resolveImage`), or a clear 503 when the engine
   * does not have it. A driver that runs no images takes the name as it is.
   */
  async function assertImage(image: string): Promise<string> {
    if (!runtime.resolveImage) return image;
    const pinned = await runtime.resolveImage(image);
    if (pinned) return pinned;
    throw new HttpError(
      503,
      'image_missing',
      `image ${image} is not on the engine: run npm run build:image (bash scripts/build-image.sh)`,
    );
  }

  function reservedError(handle: string): HttpError {
    return new HttpError(
      409,
      'handle_reserved',
      `the data of a former instance "${handle}" is kept, so the name is not free: delete that data ` +
        `(DELETE /containers/${handle}/data), or give it back to its owner (provision with "restoreData": true)`,
    );
  }

  function view(handle: string): InstanceView {
    return toView(mustGet(handle), config);
  }

  async function provision(
    input: unknown,
    opts: { restoreData?: boolean } = {},
  ): Promise<{ instance: InstanceView; created: boolean; token?: string }> {
    const check = validateHandle(input);
    if (!check.ok) throw new HttpError(400, 'invalid_handle', check.reason, { rules: HANDLE_RULES });
    const handle = check.handle;
    return mutex.run(handle, async () => {
      const existing = store.get(handle);
      // Provisioning twice is asking for what exists: answer with it (but never its secrets again).
      if (existing && existing.state !== 'provisioning')
        return { instance: toView(existing, config), created: false };
      // Data belongs to whoever had it, not to the name: only an admin's explicit restore reuses it.
      const kept = store.kept.get(handle);
      if (kept && !existing && !opts.restoreData) {
        progress(handle, 'failed', failureText('this name is not free'));
        throw reservedError(handle);
      }
      let image = config.instance.image;
      if (!existing) {
        try {
          image = await assertImage(config.instance.image);
        } catch (err) {
          markFailed(handle, err);
          throw err;
        }
      }
      if (existing && existing.runtime !== runtime.kind) {
        throw new HttpError(
          409,
          'runtime_mismatch',
          `instance "${handle}" was begun on the ${existing.runtime} runtime`,
        );
      }
      let row = existing;
      if (!row) {
        const now = clock();
        row = {
          handle,
          state: 'provisioning',
          runtime: runtime.kind,
          engineId: null,
          image,
          volume: kept && opts.restoreData ? kept.volume : newVolume(handle),
          authTokenSealed: sealer.seal(newToken('mxi'), authContext(handle)),
          proxyTokenSealed: sealer.seal(newToken('mxp'), proxyContext(handle)),
          createdAt: now,
          updatedAt: now,
          lastActiveAt: now,
          lastError: null,
          previousImage: null,
          node: null,
        };
        store.insert(row);
        events.emit('created', handle);
      }
      progress(handle, 'queued');
      let volumeCreated = false;
      try {
        // Before the instance runs, so its AI works from its first request.
        await deps.llmKeys?.register(handle, sealer.open(row.proxyTokenSealed, proxyContext(handle)));
        await deps.beforeFirstStart?.(handle);
        volumeCreated = (await runtime.ensureVolume(volumeOf(row))).created;
        const { endpoint } = await bringUp(row);
        markRunning(handle, endpoint);
        // Restored: the data has its instance again, and is no longer merely kept.
        if (store.kept.get(handle)?.volume === row.volume) store.kept.delete(handle);
        log.info({ handle }, 'instance provisioned');
        return {
          instance: view(handle),
          created: true,
          token: sealer.open(row.authTokenSealed, authContext(handle)),
        };
      } catch (err) {
        const reason = markFailed(handle, err);
        // Compensation: nothing half-made stays behind. Data is removed only if this call made it.
        const leftovers = await engineObjectsOf(store.get(handle) ?? row).catch(() => []);
        for (const rt of leftovers)
          await runtime
            .remove(rt.id)
            .catch((e) => log.error({ err: e, handle }, 'compensation: remove failed'));
        store.delete(handle);
        await deps.llmKeys
          ?.revoke(handle)
          .catch((e) => log.error({ err: e, handle }, 'compensation: key revocation failed'));
        if (volumeCreated)
          await runtime
            .removeVolume(volumeOf(row))
            .catch((e) => log.error({ err: e, handle }, 'compensation: volume removal failed'));
        log.error({ handle, reason }, 'provision failed and was rolled back');
        if (err instanceof HttpError) throw err;
        throw new HttpError(503, 'provision_failed', `could not provision "${handle}": ${reason}`);
      }
    });
  }

  async function startLocked(handle: string): Promise<InstanceView> {
    const row = mustGet(handle);
    try {
      const { endpoint, rolledBack } = await bringUpOnTrial(row);
      markRunning(handle, endpoint);
      if (rolledBack) store.update(handle, { lastError: rolledBack });
      return view(handle);
    } catch (err) {
      const reason = markFailed(handle, err);
      if (err instanceof HttpError) throw err;
      throw new HttpError(503, 'start_failed', `could not start "${handle}": ${reason}`);
    }
  }

  /** `onlyIf` is checked under the lock; false skips the operation (the idle sweep's re-check). */
  type Guard = { onlyIf?: () => boolean };

  async function stopLocked(handle: string, guard: Guard = {}): Promise<InstanceView | null> {
    const row = mustGet(handle);
    if (guard.onlyIf && !guard.onlyIf()) return null;
    // Synchronously with the guard: from here new requests queue for a wake instead of racing the stop.
    routes.set(handle, { state: 'stopping', endpoint: null });
    await routes.settled(handle);
    try {
      for (const rt of await engineObjectsOf(row))
        if (rt.state !== 'stopped') await runtime.stop(rt.id, STOP_GRACE_MS);
      store.update(handle, { state: 'stopped', updatedAt: clock(), lastError: null });
      routes.set(handle, { state: 'stopped', endpoint: null });
      return view(handle);
    } catch (err) {
      const reason = markFailed(handle, err);
      throw new HttpError(503, 'stop_failed', `could not stop "${handle}": ${reason}`);
    }
  }

  async function pauseLocked(handle: string, guard: Guard = {}): Promise<InstanceView | null> {
    const row = mustGet(handle);
    if (row.state !== 'running' || (guard.onlyIf && !guard.onlyIf())) return null;
    // Swarm cannot freeze a service: an idle instance is stopped instead (memory is given back).
    if (runtime.pausable === false) return stopLocked(handle);
    routes.set(handle, { state: 'stopping', endpoint: null });
    await routes.settled(handle);
    try {
      const [rt] = (await engineObjectsOf(row)).filter((r) => r.state === 'running');
      if (rt) await runtime.pause(rt.id);
      store.update(handle, { state: rt ? 'paused' : 'stopped', updatedAt: clock() });
      routes.set(handle, { state: rt ? 'paused' : 'stopped', endpoint: null });
      return view(handle);
    } catch (err) {
      const reason = markFailed(handle, err);
      throw new HttpError(503, 'pause_failed', `could not pause "${handle}": ${reason}`);
    }
  }

  async function destroyLocked(handle: string, opts: { deleteData: boolean }): Promise<void> {
    const row = mustGet(handle);
    routes.set(handle, { state: 'stopping', endpoint: null });
    await routes.settled(handle);
    try {
      for (const rt of await engineObjectsOf(row)) await runtime.remove(rt.id);
    } catch (err) {
      // Nothing is forgotten yet: the row stays, to be destroyed again (or woken).
      const reason = markFailed(handle, err);
      throw new HttpError(503, 'destroy_failed', `could not remove the instance of "${handle}": ${reason}`);
    }
    // Kept data keeps its name reserved: nobody else signs up as this handle and finds it.
    if (!opts.deleteData) store.kept.put({ handle, volume: volumeOf(row), keptAt: clock() });
    store.delete(handle);
    routes.delete(handle);
    lastProgress.delete(handle);
    // A token of a destroyed instance must not spend anything any more.
    await deps.llmKeys
      ?.revoke(handle)
      .catch((err) => log.error({ err, handle }, 'could not revoke the LLM proxy key'));
    if (opts.deleteData) await runtime.removeVolume(volumeOf(row));
    events.emit('destroyed', handle);
    log.info({ handle, deleteData: opts.deleteData }, 'instance destroyed');
  }

  /**
   * Converges the engine to the database: removes our engine objects that have no row (never a
   * volume), adopts labelled objects a row lost track of, recreates vanished ones, finishes
   * provisions a crash interrupted, and starts or stops objects whose state drifted.
   */
  async function reconcile(): Promise<ReconcileReport> {
    const report: ReconcileReport = {
      adopted: [],
      removedOrphans: [],
      recreated: [],
      started: [],
      stopped: [],
      reserved: [],
      errors: [],
    };
    const engine = await runtime.list();
    const rows = new Map(store.list().map((r) => [r.handle, r]));
    const byHandle = new Map<string, RuntimeInstance[]>();
    for (const rt of engine) byHandle.set(rt.handle, [...(byHandle.get(rt.handle) ?? []), rt]);
    for (const rt of engine) {
      if (rows.has(rt.handle) || mutex.busy(rt.handle)) continue;
      await mutex.run(rt.handle, async () => {
        if (store.get(rt.handle)) return; // provisioned meanwhile
        log.warn({ handle: rt.handle, id: rt.id }, 'reconcile: removing an instance with no row');
        await runtime.remove(rt.id);
        report.removedOrphans.push(rt.handle);
      });
    }
    for (const handle of rows.keys()) {
      // An operation under way owns the instance right now; the next pass looks again.
      if (mutex.busy(handle)) continue;
      await mutex
        .run(handle, async () => {
          const row = store.get(handle);
          if (!row || row.runtime !== runtime.kind) return;
          const seen = byHandle.get(handle) ?? [];
          const keep = seen.find((r) => r.id === row.engineId) ?? seen[0];
          // Duplicates (a crash between create and record): keep one, remove the rest.
          for (const extra of seen) if (extra !== keep) await runtime.remove(extra.id);
          // The snapshot may be minutes old by now: ask again for this one, unless the snapshot
          // already agrees with the row (nothing will be done, and the event stream would have
          // told of a change since): at 1,000 instances one inspect each took seconds.
          const id = keep?.id ?? row.engineId;
          const rt = keep && agrees(row, keep) ? keep : id ? await runtime.inspect(id) : null;
          if (rt && rt.id !== row.engineId) {
            store.update(handle, { engineId: rt.id, updatedAt: clock() });
            report.adopted.push(handle);
          }
          if (!rt && row.engineId) {
            log.warn({ handle, id: row.engineId }, 'reconcile: the engine lost this instance');
            store.update(handle, { engineId: null, updatedAt: clock() });
          }
          // Why it cannot run now (swarm: its node is down or drained), for the admin page.
          if (rt?.unavailable && row.lastError !== rt.unavailable)
            store.update(handle, { lastError: rt.unavailable, updatedAt: clock() });
          if (row.state === 'stopped') {
            if (rt && rt.state !== 'stopped') {
              await runtime.stop(rt.id, STOP_GRACE_MS);
              report.stopped.push(handle);
            }
            routes.set(handle, { state: 'stopped', endpoint: null });
          } else if (row.state === 'provisioning' || !rt || rt.state === 'stopped') {
            const { endpoint, recreated, rolledBack } = await bringUpOnTrial(store.get(handle)!);
            markRunning(handle, endpoint);
            if (rolledBack) store.update(handle, { lastError: rolledBack });
            (recreated ? report.recreated : report.started).push(handle);
          } else if (rt.state === 'paused') {
            if (row.state !== 'paused') store.update(handle, { state: 'paused', updatedAt: clock() });
            routes.set(handle, { state: 'paused', endpoint: null });
          } else {
            if (row.state !== 'running') store.update(handle, { state: 'running', updatedAt: clock() });
            routes.set(handle, { state: 'running', endpoint: rt.endpoint });
          }
        })
        .catch((err) => {
          report.errors.push({ handle, error: markFailed(handle, err) });
          log.error({ handle, err }, 'reconcile failed for instance');
        });
    }
    await reserveUnclaimedVolumes(report).catch((err) =>
      log.error({ err }, 'reconcile: cannot list volumes'),
    );
    const changed = Object.values(report).some((v) => v.length > 0);
    if (changed) log.info(report, 'reconciled');
    return report;
  }

  /**
   * Reserves the handle of every volume that has neither an instance nor a record of being kept
   * (data kept by versions before handles were reserved): its data must not reach a stranger.
   */
  async function reserveUnclaimedVolumes(report: ReconcileReport): Promise<void> {
    for (const volume of await runtime.listVolumes()) {
      const handle = handleOfVolume(volume);
      if (mutex.busy(handle)) continue;
      await mutex.run(handle, async () => {
        const row = store.get(handle);
        if (row || store.kept.get(handle)) return;
        store.kept.put({ handle, volume, keptAt: clock() });
        report.reserved.push(handle);
        log.warn({ handle, volume }, 'reconcile: data with no instance; its handle is now reserved');
      });
    }
  }

  /** Deletes the data a destroyed instance left (the admin's "release this name"). */
  async function deleteKeptData(handle: string): Promise<void> {
    await mutex.run(handle, async () => {
      if (store.get(handle)) {
        throw new HttpError(
          409,
          'instance_exists',
          `"${handle}" has an instance: delete it with its data (DELETE /containers/${handle}?deleteData=true)`,
        );
      }
      const kept = store.kept.get(handle);
      if (!kept) throw new HttpError(404, 'no_kept_data', `no kept data of "${handle}"`);
      await runtime.removeVolume(kept.volume);
      store.kept.delete(handle);
      lastProgress.delete(handle);
      log.warn({ handle, volume: kept.volume }, 'kept data deleted: the handle is free again');
    });
  }

  /**
   * A new API token for the instance, shown once: the old one stops working at once. The token is
   * in the container's environment, so the container is re-created (data kept) and, if it was
   * up, started with it. A failed start still returns the token: it is the only copy.
   */
  async function rotateToken(handle: string): Promise<{ instance: InstanceView; token: string }> {
    return mutex.run(handle, async () => {
      const row = mustGet(handle);
      if (row.state === 'provisioning')
        throw new HttpError(409, 'provisioning', `"${handle}" is still being provisioned`);
      const token = newToken('mxi');
      const wasUp = row.state !== 'stopped';
      routes.set(handle, { state: 'stopping', endpoint: null });
      await routes.settled(handle);
      try {
        for (const rt of await engineObjectsOf(row)) await runtime.remove(rt.id);
      } catch (err) {
        const reason = markFailed(handle, err);
        throw new HttpError(503, 'rotate_failed', `could not replace the instance of "${handle}": ${reason}`);
      }
      store.update(handle, {
        authTokenSealed: sealer.seal(token, authContext(handle)),
        engineId: null,
        state: wasUp ? row.state : 'stopped',
        updatedAt: clock(),
      });
      events.emit('tokenRotated', handle);
      log.warn({ handle }, 'instance API token rotated');
      if (!wasUp) {
        routes.set(handle, { state: 'stopped', endpoint: null });
        return { instance: view(handle), token };
      }
      try {
        const { endpoint, rolledBack } = await bringUpOnTrial(store.get(handle)!);
        markRunning(handle, endpoint);
        if (rolledBack) store.update(handle, { lastError: rolledBack });
      } catch (err) {
        log.error({ handle, reason: markFailed(handle, err) }, 'instance did not start after token rotation');
      }
      return { instance: view(handle), token };
    });
  }

  /**
   * One step of a rollout (`src/rollout/`): moves the instance to `image`, data kept. An awake one
   * is re-created on it at once and must answer its health check within ROLLOUT_HEALTH_TIMEOUT, or
   * it is re-created on the image it ran (`rolled_back`); a sleeping one loses its container and
   * starts on the new image at its next wake, with the same way back (`on_wake`). Requests that
   * come meanwhile wait for the handle's lock, as for a wake.
   */
  async function moveImage(handle: string, image: string): Promise<MoveOutcome> {
    return mutex.run(handle, async () => {
      const row = store.get(handle);
      if (!row || row.state === 'provisioning' || row.runtime !== runtime.kind || row.image === image)
        return { outcome: 'skipped' };
      const awake = row.state !== 'stopped';
      routes.set(handle, { state: 'stopping', endpoint: null });
      await routes.settled(handle);
      try {
        for (const rt of await engineObjectsOf(row)) await runtime.remove(rt.id);
      } catch (err) {
        // Still on its image (its container may be up): the next request or sweep finds it.
        return {
          outcome: 'rolled_back',
          error: `could not replace its container: ${markFailed(handle, err)}`,
        };
      }
      store.update(handle, { image, previousImage: row.image, engineId: null, updatedAt: clock() });
      if (!awake) {
        routes.set(handle, { state: 'stopped', endpoint: null });
        return { outcome: 'on_wake' };
      }
      try {
        const { endpoint, rolledBack } = await bringUpOnTrial(store.get(handle)!);
        markRunning(handle, endpoint);
        if (!rolledBack) return { outcome: 'moved' };
        store.update(handle, { lastError: rolledBack });
        return { outcome: 'rolled_back', error: rolledBack };
      } catch (err) {
        const reason = markFailed(handle, err);
        return { outcome: 'rolled_back', error: `it did not start again on ${row.image} either: ${reason}` };
      }
    });
  }

  /**
   * The engine's news, checked against the engine itself under the handle's lock (an operation of
   * ours finishes first): an instance stopped or removed behind the platform's back reads as
   * stopped at once, so the admin API says so and the next request wakes it.
   */
  async function applyEngineState(handle: string): Promise<EngineChange | null> {
    const row = store.get(handle);
    if (!row || row.state === 'provisioning') return null;
    const rt = row.engineId ? await runtime.inspect(row.engineId) : null;
    const route = routes.get(handle);
    const now = clock();
    let change: EngineChange | null = null;
    if (!rt) {
      if (!row.engineId && route?.state !== 'running') return null;
      store.update(handle, {
        engineId: null,
        state: 'stopped',
        updatedAt: now,
        lastError: row.state === 'stopped' ? row.lastError : 'the instance was removed outside the platform',
      });
      routes.set(handle, { state: 'stopped', endpoint: null });
      change = { handle, state: 'removed' };
    } else if (rt.state === 'stopped' && (row.state !== 'stopped' || route?.state === 'running')) {
      store.update(handle, {
        state: 'stopped',
        updatedAt: now,
        // The engine's reason when it has one (swarm: its node is down or drained).
        lastError: rt.unavailable ?? 'the instance stopped outside the platform',
      });
      routes.set(handle, { state: 'stopped', endpoint: null });
      change = { handle, state: 'stopped' };
    } else if (rt.state === 'paused' && row.state !== 'paused') {
      store.update(handle, { state: 'paused', updatedAt: now });
      routes.set(handle, { state: 'paused', endpoint: null });
      change = { handle, state: 'paused' };
    } else if (
      rt.state === 'running' &&
      rt.endpoint &&
      (row.state !== 'running' || route?.state !== 'running')
    ) {
      store.update(handle, { state: 'running', updatedAt: now, lastError: null });
      routes.set(handle, { state: 'running', endpoint: rt.endpoint });
      change = { handle, state: 'running' };
    }
    if (change) {
      log.warn(change, 'the engine changed an instance behind the platform');
      events.emit('engineChanged', change);
    }
    return change;
  }

  function onEngineEvent(e: RuntimeEvent): void {
    const row = store.get(e.handle);
    if (!row || (row.engineId && row.engineId !== e.id)) return;
    mutex
      .run(e.handle, () => applyEngineState(e.handle))
      .catch((err) => log.error({ handle: e.handle, err }, 'could not apply an engine event'));
  }

  /**
   * Registers every instance's proxy token again (idempotent): a proxy whose database was lost or
   * that was down during a provision learns them back.
   */
  async function syncLlmKeys(): Promise<{ registered: number; failed: string[] }> {
    const failed: string[] = [];
    let registered = 0;
    if (!deps.llmKeys) return { registered, failed };
    for (const row of store.list()) {
      try {
        await deps.llmKeys.register(row.handle, sealer.open(row.proxyTokenSealed, proxyContext(row.handle)));
        registered++;
      } catch (err) {
        failed.push(row.handle);
        log.warn({ handle: row.handle, err: (err as Error).message }, 'could not register the LLM proxy key');
      }
    }
    return { registered, failed };
  }

  return {
    provision: (input: unknown, opts?: { restoreData?: boolean }) =>
      deps.metrics ? deps.metrics.provision(provision(input, opts)) : provision(input, opts),
    syncLlmKeys,
    start: (handle: string) => mutex.run(handle, () => startLocked(handle)),
    stop: (handle: string, guard?: Guard) => mutex.run(handle, () => stopLocked(handle, guard)),
    pause: (handle: string, guard?: Guard) => mutex.run(handle, () => pauseLocked(handle, guard)),
    restart: (handle: string) =>
      mutex.run(handle, async () => {
        await stopLocked(handle);
        return startLocked(handle);
      }),
    destroy: (handle: string, opts: { deleteData: boolean }) =>
      mutex.run(handle, () => destroyLocked(handle, opts)),
    reconcile: (): Promise<ReconcileReport> =>
      reconcile().then((r) => {
        deps.metrics?.reconciled(r);
        return r;
      }),
    deleteKeptData,
    rotateToken,
    moveImage,
    /** The image new instances run from, pinned as the engine has it now (503 `image_missing`). */
    targetImage: (): Promise<string> => assertImage(config.instance.image),
    /**
     * Puts the limits the user's plan gives on their instance now, without a restart (a stopped
     * one gets them again at its next start anyway). False when there is nothing to change.
     */
    applyLimits: (handle: string): Promise<boolean> =>
      mutex.run(handle, async () => {
        const row = store.get(handle);
        if (!row?.engineId || !runtime.setLimits) return false;
        await runtime.setLimits(row.engineId, limitsOf(handle));
        return true;
      }),
    /** Follows the engine's events (see `applyEngineState`); returns the function that stops. */
    watchEngine: (): (() => void) => runtime.watch(onEngineEvent),
    /** Null when the image new instances run from is on the engine, else what to do about it. */
    async checkImage(): Promise<string | null> {
      try {
        await assertImage(config.instance.image);
        return null;
      } catch (err) {
        return (err as Error).message;
      }
    },
    /** Why a handle nobody has is still not free (its former data is kept), or null. */
    reserved: (handle: string): string | null =>
      store.kept.get(handle) ? 'it belonged to an earlier account, whose data is kept' : null,
    listKept: () =>
      store.kept.list().map((k) => ({ handle: k.handle, keptAt: new Date(k.keptAt).toISOString() })),
    get: (handle: string): InstanceView => view(handle),
    list: (): InstanceView[] => store.list().map((r) => toView(r, config)),
    /** One page in handle order after `cursor`; `nextCursor` is null on the last page. */
    page(
      cursor: string | undefined,
      limit: number,
    ): { instances: InstanceView[]; nextCursor: string | null } {
      // One row more than asked tells whether another page follows, without counting the table.
      const rows = store.page(cursor, limit + 1);
      const more = rows.length > limit;
      const shown = more ? rows.slice(0, limit) : rows;
      return {
        instances: shown.map((r) => toView(r, config)),
        nextCursor: more ? shown[shown.length - 1]!.handle : null,
      };
    },
    exists: (handle: string): boolean => store.get(handle) !== undefined,
    /** Synchronous routing lookup; undefined = not known to be running (the router wakes it). */
    route: (handle: string): RouteEntry | undefined => routes.get(handle),
    /** Where each running instance answers now. */
    runningRoutes: () => routes.running(),
    /** The router could not reach it: forget the address, so the next request wakes it. */
    invalidate(handle: string): void {
      if (routes.get(handle)?.state === 'running') routes.delete(handle);
    },
    lastProgress: (handle: string): Progress | undefined => lastProgress.get(handle),
    events,
    runtime,
  };
}

/** What one rollout step did to an instance (the rollout records it). */
export type MoveOutcome =
  | { outcome: 'moved' | 'on_wake' | 'skipped' }
  | { outcome: 'rolled_back'; error: string };

/** The engine's object is the row's and in the row's state: reconcile has nothing to change. */
function agrees(row: InstanceRow, rt: RuntimeInstance): boolean {
  if (rt.id !== row.engineId || rt.unavailable) return false;
  if (row.state === 'running') return rt.state === 'running' && rt.endpoint !== null;
  return (row.state === 'stopped' || row.state === 'paused') && rt.state === row.state;
}

/** What a person watching a failed start reads: what went wrong, and what they can do. */
function failureText(reason: string): string {
  const short = reason.length > 300 ? `${reason.slice(0, 300)}…` : reason;
  return `It did not start: ${short}. Try again in a minute; if it keeps failing, tell the administrator.`;
}

export type Orchestrator = ReturnType<typeof createOrchestrator>;
