import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type Logger } from '@matrixos/shared';
import {
  type InstanceSpec,
  type InstanceStats,
  type RuntimeDriver,
  RuntimeError,
  type RuntimeEvent,
  type RuntimeInstance,
} from '../driver.ts';
import { assertPlatformId, assertSafeSpec, assertSafeVolume } from '../validate.ts';
import { rotateIfLarge, tailLines } from './logFile.ts';
import {
  CLOCK_TICKS,
  groupMembers,
  hasEnvEntry,
  readProcStat,
  residentBytes,
  uptimeSeconds,
} from './procfs.ts';
import { type InstanceRecord, loadRecords, saveRecords } from './stateFile.ts';

export interface ProcessDriverOptions {
  /** Holds `homes/<handle>` (each user's data), `logs/<handle>.log` and `runtime-<platformId>.json`. */
  dataDir: string;
  platformId: string;
  /** argv of one instance; default: this Node running the gateway of this checkout. */
  command?: string[];
  log: Logger;
  /** Grace period of `stop` (and of `remove`) between SIGTERM and SIGKILL. */
  stopGraceMs?: number;
  /** An instance's log is cut back beyond this size, one older generation kept. */
  logMaxBytes?: number;
  /** How often log sizes are checked. */
  logCheckIntervalMs?: number;
  /** How often `watch` looks for instances that died without telling (adopted ones are no children). */
  watchIntervalMs?: number;
}

/** The gateway entry point of this checkout, found from this file's own location. */
const GATEWAY_MAIN = fileURLToPath(new URL('../../../../gateway/src/main.ts', import.meta.url));
/** Env entry that marks a process as ours: checked before adopting a pid after a restart. */
const MARKER_VAR = 'MATRIXOS_RUNTIME_INSTANCE';

type Proc = NonNullable<InstanceRecord['proc']>;

/**
 * The embedded engine for trying the platform without Docker: each instance is a child process
 * on a loopback port, its home a directory under `dataDir`. Nothing isolates instances from each
 * other or from the host: they run as the platform's user and can read everything it can.
 */
export function createProcessDriver(options: ProcessDriverOptions): RuntimeDriver {
  const { dataDir, platformId, log } = options;
  assertPlatformId(platformId);
  const command = options.command ?? [process.execPath, GATEWAY_MAIN];
  const stopGraceMs = options.stopGraceMs ?? 10_000;
  const logMaxBytes = options.logMaxBytes ?? 5 * 1024 * 1024;
  const logCheckIntervalMs = options.logCheckIntervalMs ?? 30_000;
  const homesDir = path.join(dataDir, 'homes');
  const logsDir = path.join(dataDir, 'logs');
  const stateFile = path.join(dataDir, `runtime-${platformId}.json`);
  const records = new Map<string, InstanceRecord>();
  /** Processes being stopped on purpose, whose exit is no news. */
  const stopping = new WeakSet<Proc>();
  let logTimer: NodeJS.Timeout | undefined;
  /** Previous CPU reading per instance, so `stats` reports the share since the last call. */
  const cpuSamples = new Map<string, { ticks: number; atMs: number; pid: number }>();

  const homeOf = (volume: string) => path.join(homesDir, volume);
  const homeOfRec = (rec: InstanceRecord) => homeOf(rec.volume ?? rec.handle);
  const watchers = new Set<(event: RuntimeEvent) => void>();
  const emit = (rec: InstanceRecord, state: RuntimeEvent['state']) => {
    for (const w of watchers) w({ id: rec.id, handle: rec.handle, state });
  };
  const logOf = (handle: string) => path.join(logsDir, `${handle}.log`);
  const markerOf = (rec: InstanceRecord) => `${platformId}/${rec.id}`;
  const save = () => saveRecords(stateFile, records.values());

  /** The process's current stat if it is still the one we started (same pid AND start time). */
  function liveStat(proc: Proc) {
    const stat = readProcStat(proc.pid);
    if (!stat || stat.startTicks !== proc.startTicks || stat.state === 'Z' || stat.state === 'X') return null;
    return stat;
  }

  /** Forgets a process that is gone, so it reads as stopped. */
  function refresh(rec: InstanceRecord) {
    if (rec.proc && !liveStat(rec.proc)) {
      rec.proc = null;
      save();
      emit(rec, 'stopped');
    }
    return rec.proc;
  }

  function view(rec: InstanceRecord): RuntimeInstance {
    const proc = refresh(rec);
    const stat = proc && liveStat(proc);
    if (!proc || !stat) return { id: rec.id, handle: rec.handle, state: 'stopped', endpoint: null };
    return {
      id: rec.id,
      handle: rec.handle,
      state: stat.state === 'T' ? 'paused' : 'running',
      endpoint: { host: '127.0.0.1', port: proc.port },
    };
  }

  function ours(id: string): InstanceRecord {
    const rec = records.get(id);
    if (!rec) throw new RuntimeError('not_found', `no instance ${id} on this platform`);
    return rec;
  }

  /**
   * Signals the whole process group (the instance and anything it spawned), but only after
   * checking the leader is still the process we started: a recycled pid is never signalled.
   */
  function signal(proc: Proc, sig: NodeJS.Signals): void {
    if (!liveStat(proc)) return;
    try {
      process.kill(-proc.pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // ESRCH: it just exited
    }
  }

  async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() >= deadline) return false;
      await sleep(10);
    }
    return true;
  }

  async function stopProc(rec: InstanceRecord, graceMs: number): Promise<void> {
    const proc = refresh(rec);
    if (!proc) return;
    stopping.add(proc);
    // SIGCONT after SIGTERM: a paused instance wakes up straight into its shutdown.
    signal(proc, 'SIGTERM');
    signal(proc, 'SIGCONT');
    if (!(await until(() => !liveStat(proc), graceMs))) {
      log.warn({ handle: rec.handle, graceMs }, 'instance ignored SIGTERM: killing it');
      signal(proc, 'SIGKILL');
      if (!(await until(() => !liveStat(proc), 5000))) {
        throw new Error(`instance ${rec.handle} (pid ${proc.pid}) did not die after SIGKILL`);
      }
    }
    // Children it left behind still carry its group id, which the kernel keeps from reuse while they live.
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // ESRCH: nothing left.
    }
    if (rec.proc === proc) {
      rec.proc = null;
      save();
      emit(rec, 'stopped');
    }
    cpuSamples.delete(rec.id);
  }

  async function spawnInstance(rec: InstanceRecord): Promise<void> {
    const port = await freePort();
    const home = homeOfRec(rec);
    mkdirSync(home, { recursive: true, mode: 0o700 });
    rotateIfLarge(logOf(rec.handle), logMaxBytes);
    const out = openSync(logOf(rec.handle), 'a', 0o600);
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command[0]!, command.slice(1), {
        cwd: home,
        // Built from scratch: the platform's own env (upstream key, admin token) never reaches an instance.
        env: {
          PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
          ...rec.env,
          PORT: String(port),
          HOST: '127.0.0.1',
          MATRIXOS_HOME: home,
          HOME: home,
          [MARKER_VAR]: markerOf(rec),
        },
        // Own session and process group, output straight to the file: it outlives a platform restart.
        detached: true,
        stdio: ['ignore', out, out],
      });
    } finally {
      closeSync(out);
    }
    const pid = child.pid;
    if (pid === undefined) {
      const err = await new Promise<Error>((resolve) => child.once('error', resolve));
      throw new Error(`cannot start instance ${rec.handle} (${command.join(' ')}): ${err.message}`, {
        cause: err,
      });
    }
    child.unref();
    const stat = readProcStat(pid);
    if (!stat) throw new Error(`instance ${rec.handle} exited at once:\n${tailLines(logOf(rec.handle), 20)}`);
    const proc = { pid, startTicks: stat.startTicks, port };
    rec.proc = proc;
    save();
    emit(rec, 'running');
    child.once('exit', (code, sig) => {
      if (rec.proc !== proc || stopping.has(proc)) return;
      log.warn({ handle: rec.handle, pid, code, signal: sig }, 'instance exited');
      rec.proc = null;
      save();
      emit(rec, 'stopped');
    });
  }

  const driver: RuntimeDriver = {
    kind: 'process',
    isolated: false,

    async init() {
      log.warn(
        { dataDir },
        'RUNTIME=process: instances run as plain processes of this user with NO isolation from each ' +
          'other or from this host (no memory/CPU limits, shared filesystem). For trying it out only; ' +
          'use Docker for anyone but yourself.',
      );
      if (command[1] === GATEWAY_MAIN && !existsSync(GATEWAY_MAIN)) {
        throw new RuntimeError('unavailable', `the gateway is missing from this checkout (${GATEWAY_MAIN})`);
      }
      mkdirSync(homesDir, { recursive: true, mode: 0o700 });
      mkdirSync(logsDir, { recursive: true, mode: 0o700 });
      records.clear();
      for (const rec of loadRecords(stateFile)) {
        records.set(rec.id, rec);
        if (!rec.proc) continue;
        // Adopt only a process that is provably ours: same start time and our marker in its env.
        if (liveStat(rec.proc) && hasEnvEntry(rec.proc.pid, `${MARKER_VAR}=${markerOf(rec)}`)) {
          log.info({ handle: rec.handle, pid: rec.proc.pid }, 'adopted running instance');
        } else {
          rec.proc = null;
        }
      }
      save();
      if (!logTimer) {
        logTimer = setInterval(() => {
          for (const rec of records.values()) rotateIfLarge(logOf(rec.handle), logMaxBytes);
        }, logCheckIntervalMs).unref();
      }
    },

    hostAddress() {
      return '127.0.0.1';
    },

    hostName() {
      return '127.0.0.1';
    },

    // No disk quota here: this driver isolates nothing, the disk included (docs/operations.md).
    async ensureVolume(volume) {
      assertSafeVolume(volume);
      if (existsSync(homeOf(volume))) return { created: false };
      mkdirSync(homeOf(volume), { recursive: true, mode: 0o700 });
      return { created: true };
    },

    async hasVolume(volume) {
      assertSafeVolume(volume);
      return existsSync(homeOf(volume));
    },

    async removeVolume(volume) {
      assertSafeVolume(volume);
      if ([...records.values()].some((r) => (r.volume ?? r.handle) === volume)) {
        throw new RuntimeError('conflict', `the home ${volume} is in use: remove its instance first`);
      }
      rmSync(homeOf(volume), { recursive: true, force: true });
      log.warn({ volume }, 'deleted instance home');
    },

    async listVolumes() {
      if (!existsSync(homesDir)) return [];
      return readdirSync(homesDir).filter((name) => {
        try {
          assertSafeVolume(name);
          return true;
        } catch {
          return false;
        }
      });
    },

    async create(spec: InstanceSpec) {
      assertSafeSpec(spec.handle, spec.env);
      assertSafeVolume(spec.volume);
      const existing = [...records.values()].find((r) => r.handle === spec.handle);
      if (existing)
        throw new RuntimeError('conflict', `${spec.handle} already has an instance (${existing.id})`);
      await driver.ensureVolume(spec.volume);
      const rec: InstanceRecord = {
        id: `p${randomBytes(8).toString('hex')}`,
        handle: spec.handle,
        volume: spec.volume,
        env: { ...spec.env },
        limits: { ...spec.limits },
        proc: null,
      };
      records.set(rec.id, rec);
      save();
      log.info({ handle: rec.handle, id: rec.id }, 'created instance');
      return view(rec);
    },

    async start(id) {
      const rec = ours(id);
      const proc = refresh(rec);
      if (proc) {
        if (liveStat(proc)?.state === 'T') {
          signal(proc, 'SIGCONT');
          emit(rec, 'running');
        }
        return { ...view(rec), state: 'running' };
      }
      await spawnInstance(rec);
      log.info({ handle: rec.handle, id, pid: rec.proc?.pid, port: rec.proc?.port }, 'started instance');
      return view(rec);
    },

    async stop(id, graceMs = stopGraceMs) {
      const rec = records.get(id);
      if (!rec) return;
      await stopProc(rec, graceMs);
      log.info({ handle: rec.handle, id }, 'stopped instance');
    },

    async pause(id) {
      const rec = ours(id);
      const proc = refresh(rec);
      if (!proc) throw new RuntimeError('conflict', `instance ${id} is not running: cannot pause it`);
      signal(proc, 'SIGSTOP');
      // The signal is asynchronous: return once the leader really is stopped (or gone).
      await until(() => (liveStat(proc)?.state ?? 'T') === 'T', 1000);
      emit(rec, 'paused');
    },

    async resume(id) {
      const rec = ours(id);
      const proc = refresh(rec);
      if (!proc) throw new RuntimeError('conflict', `instance ${id} is stopped: start it instead`);
      signal(proc, 'SIGCONT');
      emit(rec, 'running');
      return { ...view(rec), state: 'running' };
    },

    async remove(id) {
      const rec = records.get(id);
      if (!rec) return;
      await stopProc(rec, stopGraceMs);
      records.delete(id);
      save();
      // Its output goes with it, as a container's does; its home stays.
      rmSync(logOf(rec.handle), { force: true });
      rmSync(`${logOf(rec.handle)}.1`, { force: true });
      log.info({ handle: rec.handle, id }, 'removed instance');
      emit(rec, 'removed');
    },

    async inspect(id) {
      const rec = records.get(id);
      return rec ? view(rec) : null;
    },

    async list(filter = {}) {
      return [...records.values()]
        .filter((r) => filter.handle === undefined || r.handle === filter.handle)
        .map(view);
    },

    async stats(id): Promise<InstanceStats | null> {
      const rec = records.get(id);
      const proc = rec && refresh(rec);
      if (!rec || !proc) return null;
      const members = groupMembers(proc.pid);
      let ticks = 0;
      let memoryBytes = 0;
      for (const pid of members) {
        ticks += readProcStat(pid)?.cpuTicks ?? 0;
        memoryBytes += residentBytes(pid);
      }
      const now = Date.now();
      const prev = cpuSamples.get(id);
      // First reading: the average since the process started.
      const since =
        prev?.pid === proc.pid
          ? prev
          : { ticks: 0, atMs: now - (uptimeSeconds() - proc.startTicks / CLOCK_TICKS) * 1000 };
      cpuSamples.set(id, { ticks, atMs: now, pid: proc.pid });
      const elapsedS = (now - since.atMs) / 1000;
      const cpuPercent =
        elapsedS > 0 ? Math.max(0, ((ticks - since.ticks) / CLOCK_TICKS / elapsedS) * 100) : 0;
      // Not enforced here (no cgroups): this reports the limit the spec asked for.
      return { memoryBytes, memoryLimitBytes: rec.limits.memoryBytes, cpuPercent };
    },

    async logs(id, tail) {
      return tailLines(logOf(ours(id).handle), tail);
    },

    watch(onEvent) {
      watchers.add(onEvent);
      // Children report their exit; adopted processes (a platform restart) and a state file edited
      // by hand do not: look at the process table too.
      const timer = setInterval(() => {
        for (const rec of records.values()) refresh(rec);
      }, options.watchIntervalMs ?? 250);
      timer.unref();
      return () => {
        watchers.delete(onEvent);
        clearInterval(timer);
      };
    },
  };
  return driver;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port nobody listens on right now, for the next instance to take. */
