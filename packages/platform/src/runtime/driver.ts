/**
 * The one interface between the platform and whatever runs the instances (after JupyterHub's
 * spawners). The orchestrator only ever talks to this; engines live beside it:
 * `docker/` (Docker Engine via dockerode) and `process/` (local child processes, no isolation).
 *
 * Every engine object the platform creates is marked as ours (a label, or the process table)
 * with the platform's id and the handle, so `list()` finds exactly ours and nothing else.
 */

/** Where an instance's gateway answers HTTP (from the platform's host). */
export interface Endpoint {
  host: string;
  port: number;
}

export interface ResourceLimits {
  memoryBytes: number;
  /** CPU in billionths of a core (0.5 CPU = 500_000_000), as Docker counts it. */
  nanoCpus: number;
  pids: number;
}

/** What the platform asks an engine to run for one user. */
export interface InstanceSpec {
  handle: string;
  /**
   * The data volume to mount at its home (a volume key, see `assertSafeVolume`): the handle
   * itself for instances made before volumes had generations, else `{handle}_{generation}`, so
   * a new account with a freed handle never mounts an old account's data.
   */
  volume: string;
  /** Image to run (docker); the process driver runs the gateway from this checkout instead. */
  image: string;
  /** Environment of the gateway: its mode, handle, secrets, proxy URL. */
  env: Record<string, string>;
  limits: ResourceLimits;
}

/** Created and exited both read as `stopped`: either way, `start` is what brings it up. */
export type RuntimeState = 'running' | 'paused' | 'stopped';

/** An engine object as the engine sees it now. */
export interface RuntimeInstance {
  /** The engine's id (container id, or the process driver's key). */
  id: string;
  handle: string;
  state: RuntimeState;
  /** Where the gateway listens; null when the engine cannot say (e.g. stopped). */
  endpoint: Endpoint | null;
  /** The node it is pinned to (swarm: where its data is); absent on one-host engines. */
  node?: string | null;
  /** Why it cannot run now although it should (swarm: its node is down or drained). */
  unavailable?: string;
}

export interface StartOptions {
  /** The engine's own steps while it starts (swarm: task states and errors), for the progress page. */
  onProgress?: (message: string) => void;
}

export interface InstanceStats {
  memoryBytes: number;
  memoryLimitBytes: number;
  /** Share of one core, 0-100 per core, over the engine's last sample. */
  cpuPercent: number;
}

export interface RuntimeDriver {
  readonly kind: 'docker' | 'process' | 'swarm';
  /** False when instances are not isolated from each other or the host (process driver). */
  readonly isolated: boolean;
  /** False when the engine cannot freeze an instance (swarm): the platform stops it instead. */
  readonly pausable?: boolean;

  /**
   * Prepares the engine once at startup (network, state directory, adopting what survived a
   * platform restart); throws with a clear reason. Call it before anything else.
   */
  init(): Promise<void>;
  /**
   * Where services meant for instances listen (valid after `init`): the bridge gateway for
   * docker, loopback for process, all of the platform container's interfaces for swarm (it is on
   * each user's network).
   */
  hostAddress(): string;
  /**
   * How an instance names the platform's host in the URLs put into its env (the LLM proxy, the
   * instance API): `hostAddress()` for docker and process, the platform's alias on every user's
   * network for swarm.
   */
  hostName(): string;

  /**
   * Creates the data volume (by its key, `InstanceSpec.volume`) if missing, and makes it ready to
   * mount (its disk quota re-established after a reboot); `created` tells whether this call made it.
   */
  ensureVolume(volume: string): Promise<{ created: boolean }>;
  hasVolume(volume: string): Promise<boolean>;
  /** Deletes the user's data. Only ever called on an explicit request to delete data. */
  removeVolume(volume: string): Promise<void>;
  /** The keys of every data volume of this platform. */
  listVolumes(): Promise<string[]>;

  /**
   * Creates (does not start) the instance, with the volume (made if missing) mounted at its
   * home. A handle has at most one instance: a second `create` throws `RuntimeError('conflict')`.
   */
  create(spec: InstanceSpec): Promise<RuntimeInstance>;
  /**
   * Starts it (a running one is left as is, a paused one resumed) and returns as soon as the
   * engine has; the gateway answers a little later: `waitReady(endpoint)`.
   */
  start(id: string, opts?: StartOptions): Promise<RuntimeInstance>;
  /**
   * Graceful stop (SIGTERM, then kill after `graceMs`); works on a paused instance too. An
   * instance that is already stopped or gone is left alone.
   */
  stop(id: string, graceMs?: number): Promise<void>;
  /** Freezes every process of the instance; memory stays, the CPU is released. */
  pause(id: string): Promise<void>;
  resume(id: string): Promise<RuntimeInstance>;
  /** Removes the instance (stopping it gracefully first); never its volume. Gone already is fine. */
  remove(id: string): Promise<void>;

  /**
   * Null when the engine no longer has it. Ids of another platform's objects read as missing
   * here and in every method: a driver only ever sees and touches its own.
   */
  inspect(id: string): Promise<RuntimeInstance | null>;
  /** Every instance of this platform the engine has, running or not (of one handle: cheaper). */
  list(filter?: { handle?: string }): Promise<RuntimeInstance[]>;
  /**
   * The image as an immutable reference (its content tag `repo:{inputs hash}` from
   * scripts/build-image.sh, else its id), or null when the engine does not have it. Instances are
   * created from this, so a later build or another platform moving the configured tag never
   * changes what an existing instance runs. Absent: the driver runs no images.
   */
  resolveImage?(image: string): Promise<string | null>;
  /**
   * Changes an instance's memory, CPU and pids limits in place, running or not, without a
   * restart (a plan change). Absent: the driver enforces no limits (process), so none change.
   */
  setLimits?(id: string, limits: ResourceLimits): Promise<void>;
  /** Null when the instance is missing or stopped (nothing to measure); a paused one has memory. */
  stats(id: string): Promise<InstanceStats | null>;
  /**
   * Stats of every running or paused instance of this platform in one pass (by engine id), for
   * pages that show them all. Absent: callers ask `stats` per instance.
   */
  statsAll?(): Promise<Map<string, InstanceStats>>;
  /** The last `tail` lines of the instance's output (stdout and stderr, as text). */
  logs(id: string, tail: number): Promise<string>;
  /**
   * Follows the engine's own news about this platform's instances (started, stopped, paused,
   * removed), also of what others did behind the platform's back. A hint, not the truth: the
   * receiver asks `inspect` before acting on it. Returns the function that stops watching.
   */
  watch(onEvent: (event: RuntimeEvent) => void): () => void;
}

/** Something happened to an instance, by the engine's account. */
export interface RuntimeEvent {
  id: string;
  handle: string;
  state: RuntimeState | 'removed';
}

/**
 * What callers may want to tell apart: `not_found` (no such instance of this platform),
 * `conflict` (the handle already has one; the volume is still in use), `unavailable` (the
 * engine does not answer or is set up unsafely), `invalid` (a handle or env name the driver
 * refuses to put into a name, a path or an environment).
 */
export class RuntimeError extends Error {
  override name = 'RuntimeError';
  readonly code: 'not_found' | 'conflict' | 'unavailable' | 'invalid';

  constructor(code: RuntimeError['code'], message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Labels (docker) / process-table fields that mark an engine object as ours. */
export const LABEL_MANAGED = 'dev.matrixos.managed';
export const LABEL_PLATFORM = 'dev.matrixos.platform';
export const LABEL_HANDLE = 'dev.matrixos.handle';

/** The gateway's port inside an instance. */
export const GATEWAY_PORT = 4000;

/** The instance home (the gateway's `MATRIXOS_HOME`) inside the image; the user's volume goes here. */
export const INSTANCE_HOME = '/home/matrixos/home';
