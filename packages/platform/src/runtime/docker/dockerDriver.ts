import { availableParallelism } from 'node:os';
import type { Logger } from '@matrixos/shared';
import Docker from 'dockerode';
import type { LoopDisks } from '../disks/loopDisks.ts';
import {
  GATEWAY_PORT,
  INSTANCE_HOME,
  type InstanceSpec,
  type InstanceStats,
  LABEL_HANDLE,
  LABEL_MANAGED,
  LABEL_PLATFORM,
  type RuntimeDriver,
  RuntimeError,
  type RuntimeInstance,
  type RuntimeState,
} from '../driver.ts';
import { assertPlatformId, assertSafeSpec, assertSafeVolume, handleOfVolume } from '../validate.ts';
import { readCgroup, statsFromCgroup } from './cgroupStats.ts';
import { demuxLogs } from './demuxLogs.ts';
import { errorText, ignoreStatus, status } from './engineErrors.ts';
import { type CpuReading, cpuReadingOf, statsFromEngine } from './engineStats.ts';
import { createEngineView } from './engineView.ts';
import { parseEvent } from './parseEvent.ts';
import { pingEngine } from './pingEngine.ts';

export interface DockerDriverOptions {
  /** Engine client; the default follows DOCKER_HOST, else /var/run/docker.sock. */
  docker?: Docker;
  /** Prefixes every name and labels every object, so platforms sharing an engine stay apart. */
  platformId: string;
  /** The bridge network instances join; created with inter-container traffic off if missing. */
  network?: string;
  log: Logger;
  /** Grace period of `stop` (and of `remove` on a running instance) before SIGKILL. */
  stopGraceMs?: number;
  /** Size of the writable tmpfs at /tmp (the rest of the root filesystem is read-only). */
  tmpfsBytes?: number;
  /** How long `init` waits for the engine to answer a ping. */
  pingTimeoutMs?: number;
  /** A filesystem of fixed size per new volume (the tenant's disk quota); absent: no quota. */
  disks?: LoopDisks;
  /** How long `watch` waits before following the engine's events again after the stream broke. */
  watchRetryMs?: number;
  /** Told each time the event stream is followed again after breaking (the metrics count it). */
  onWatchReconnect?: () => void;
}

/** The hash of an image's inputs, set by scripts/build-image.sh (also its content tag). */
const LABEL_INPUTS = 'dev.matrixos.inputs';

/** `repo/name:tag` → `repo/name` (a registry port's colon is not a tag's). */
function repositoryOf(image: string): string {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? image.slice(0, at) : image;
}

/** Which data volume a container mounts (its key), so a start can re-mount its disk first. */
const LABEL_VOLUME = 'dev.matrixos.volume';

/** The uid:gid of the image's `node` user; numeric, so no image can map it to root. */
const INSTANCE_USER = '1000:1000';
const ICC_OPTION = 'com.docker.network.bridge.enable_icc';

/**
 * The production engine: one hardened container per user on a bridge network where containers
 * cannot reach each other, the user's data in a named volume mounted at the instance home.
 */
export function createDockerDriver(options: DockerDriverOptions): RuntimeDriver {
  const { platformId, log } = options;
  assertPlatformId(platformId);
  const docker = options.docker ?? new Docker();
  const network = options.network ?? 'matrixos-net';
  const stopGraceMs = options.stopGraceMs ?? 10_000;
  const tmpfsBytes = options.tmpfsBytes ?? 64 * 1024 * 1024;
  const pingTimeoutMs = options.pingTimeoutMs ?? 5000;
  let gatewayAddress: string | undefined;
  /** By id, not name: a name can be ambiguous for a moment (see ensureNetwork). */
  let networkId: string | undefined;

  const containerName = (handle: string) => `${platformId}-${handle}`;
  const volumeName = (key: string) => `${platformId}-home-${key}`;
  const volumePrefix = `${platformId}-home-`;
  const { disks } = options;
  /** Our containers, from one listing plus the event stream, while `watch` follows it (engineView.ts). */
  const view = createEngineView();
  /** Each awake container's last CPU reading: the next one-shot sample's CPU share is since then. */
  const cpuReadings = new Map<string, CpuReading>();
  /** Engine stats calls in flight at once during `statsAll`: the engine answers each in ~10 ms. */
  const STATS_PARALLEL = 16;

  /** From the container's cgroup when the engine runs on this host (no engine call), else the engine. */
  async function sample(id: string): Promise<InstanceStats> {
    const cg = await readCgroup(id);
    if (cg) {
      const stats = statsFromCgroup(cg, cpuReadings.get(id), availableParallelism());
      cpuReadings.set(id, cg.cpu);
      return stats;
    }
    const s = await docker.getContainer(id).stats({ stream: false, 'one-shot': true } as { stream: false });
    const stats = statsFromEngine(s, cpuReadings.get(id));
    cpuReadings.set(id, cpuReadingOf(s));
    return stats;
  }
  const labels = (handle: string) => ({
    [LABEL_MANAGED]: '1',
    [LABEL_PLATFORM]: platformId,
    [LABEL_HANDLE]: handle,
  });
  const isOurs = (l: Record<string, string> | undefined | null) =>
    l?.[LABEL_MANAGED] === '1' && l[LABEL_PLATFORM] === platformId && typeof l[LABEL_HANDLE] === 'string';

  /** The container if it exists and belongs to this platform; anything else reads as missing. */
  async function own(id: string): Promise<Docker.ContainerInspectInfo | null> {
    try {
      const info = await docker.getContainer(id).inspect();
      return isOurs(info.Config.Labels) ? info : null;
    } catch (err) {
      if (status(err) === 404) return null;
      throw err;
    }
  }

  async function ownOrThrow(id: string): Promise<Docker.ContainerInspectInfo> {
    const info = await own(id);
    if (!info) throw new RuntimeError('not_found', `no instance ${id} on this platform`);
    return info;
  }

  function fromInspect(info: Docker.ContainerInspectInfo): RuntimeInstance {
    const state = mapState(info.State.Status);
    const ip = info.NetworkSettings.Networks[network]?.IPAddress;
    return {
      id: info.Id,
      handle: info.Config.Labels[LABEL_HANDLE]!,
      state,
      endpoint: state !== 'stopped' && ip ? { host: ip, port: GATEWAY_PORT } : null,
    };
  }

  /** Networks with exactly this name (the engine's name filter matches substrings). */
  async function networksNamed(): Promise<Docker.NetworkInspectInfo[]> {
    return (await docker.listNetworks({ filters: { name: [network] } })).filter((n) => n.Name === network);
  }

  async function ensureNetwork(): Promise<Docker.NetworkInspectInfo> {
    let found = await networksNamed();
    if (found.length === 0) {
      try {
        await docker.createNetwork({
          Name: network,
          Driver: 'bridge',
          CheckDuplicate: true,
          // Without this, any container on the bridge can open a connection to any other.
          Options: { [ICC_OPTION]: 'false' },
          Labels: { [LABEL_MANAGED]: '1', [LABEL_PLATFORM]: platformId },
        });
        log.info({ network }, 'created instance network (inter-container traffic off)');
      } catch (err) {
        if (status(err) !== 409) throw err; // someone else created it meanwhile: check theirs below
      }
      found = await networksNamed();
    }
    // CheckDuplicate is not atomic in the engine: two platforms starting at once can each make
    // one. All of them agree on the oldest and remove the (still empty) others they can.
    found.sort((a, b) => a.Created.localeCompare(b.Created) || a.Id.localeCompare(b.Id));
    const [keep, ...extra] = found;
    if (!keep) throw new RuntimeError('unavailable', `network "${network}" could not be created`);
    for (const dup of extra) {
      if (dup.Labels?.[LABEL_MANAGED] !== '1') continue;
      await docker
        .getNetwork(dup.Id)
        .remove()
        .catch((err) =>
          log.warn({ network, id: dup.Id, err: errorText(err) }, 'could not remove a duplicate network'),
        );
    }
    networkId = keep.Id;
    return docker.getNetwork(keep.Id).inspect();
  }

  async function stopContainer(info: Docker.ContainerInspectInfo, graceMs: number): Promise<void> {
    const container = docker.getContainer(info.Id);
    // A frozen container cannot act on SIGTERM: thaw it first so the grace period means something.
    if (info.State.Paused) await ignoreStatus(container.unpause(), 409);
    await ignoreStatus(container.stop({ t: Math.max(0, Math.ceil(graceMs / 1000)) }), 304, 404);
  }

  /** A disk-backed volume's filesystem must be mounted before the engine binds it (after a reboot). */
  async function mountDiskOf(info: Docker.ContainerInspectInfo): Promise<void> {
    const key = info.Config.Labels[LABEL_VOLUME];
    if (disks && key && disks.has(key)) await disks.ensure(key);
  }

  const driver: RuntimeDriver = {
    kind: 'docker',
    isolated: true,

    async init() {
      try {
        await pingEngine(docker, pingTimeoutMs);
      } catch (err) {
        throw new RuntimeError(
          'unavailable',
          `the Docker engine does not answer (${errorText(err)}): start it (dockerd) or set RUNTIME=process`,
          { cause: err },
        );
      }
      const net = await ensureNetwork();
      if (net.Driver !== 'bridge' || net.Options?.[ICC_OPTION] !== 'false') {
        throw new RuntimeError(
          'unavailable',
          `network "${network}" exists but lets containers reach each other (it needs driver bridge and ` +
            `option ${ICC_OPTION}=false). Refusing to run tenants on it: remove it (disconnect its ` +
            `containers, then \`docker network rm ${network}\`) so the platform re-creates it, or set ` +
            'DOCKER_NETWORK to another name.',
        );
      }
      gatewayAddress = net.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
      if (!gatewayAddress)
        throw new RuntimeError('unavailable', `network "${network}" has no gateway address`);
      // After a reboot no disk is mounted: every quota comes back before any instance starts.
      if (disks) {
        const mounted = await disks.mountAll();
        if (mounted.length) log.info({ disks: mounted.length }, 'mounted volume disks');
      }
      log.debug({ network, gateway: gatewayAddress }, 'docker runtime ready');
    },

    hostAddress() {
      if (!gatewayAddress) throw new Error('docker runtime: hostAddress() before init()');
      return gatewayAddress;
    },

    hostName() {
      return driver.hostAddress();
    },

    async ensureVolume(key) {
      assertSafeVolume(key);
      const volume = docker.getVolume(volumeName(key));
      try {
        await volume.inspect();
        // Its disk (if it has one) mounted again: a reboot unmounts it.
        if (disks?.has(key)) await disks.ensure(key);
        return { created: false };
      } catch (err) {
        if (status(err) !== 404) throw err;
      }
      const handle = handleOfVolume(key);
      const volumeLabels = { ...labels(handle), [LABEL_VOLUME]: key };
      if (disks) {
        const { dir } = await disks.ensure(key);
        // A local volume bound to the disk's data directory: the engine still treats it as a named
        // volume (copies the image's home into it when empty, lists it, refuses to remove it in use).
        await docker.createVolume({
          Name: volumeName(key),
          Labels: volumeLabels,
          Driver: 'local',
          DriverOpts: { type: 'none', o: 'bind', device: dir },
        });
      } else {
        await docker.createVolume({ Name: volumeName(key), Labels: volumeLabels });
      }
      log.info({ handle, volume: volumeName(key), quotaBytes: disks?.sizeBytes }, 'created data volume');
      return { created: true };
    },

    async listVolumes() {
      const { Volumes } = await docker.listVolumes({
        filters: { label: [`${LABEL_MANAGED}=1`, `${LABEL_PLATFORM}=${platformId}`] },
      });
      return (Volumes ?? [])
        .filter((v) => isOurs(v.Labels) && v.Name.startsWith(volumePrefix))
        .map((v) => v.Name.slice(volumePrefix.length));
    },

    async hasVolume(key) {
      assertSafeVolume(key);
      try {
        await docker.getVolume(volumeName(key)).inspect();
        return true;
      } catch (err) {
        if (status(err) === 404) return false;
        throw err;
      }
    },

    async removeVolume(key) {
      assertSafeVolume(key);
      try {
        await docker.getVolume(volumeName(key)).remove();
        log.warn({ volume: volumeName(key) }, 'deleted data volume');
      } catch (err) {
        if (status(err) === 409) {
          throw new RuntimeError('conflict', `the data volume ${key} is in use: remove its instance first`, {
            cause: err,
          });
        }
        if (status(err) !== 404) throw err;
      }
      // The volume only pointed at it: the disk is the data.
      if (disks?.has(key)) await disks.remove(key);
    },

    async create(spec: InstanceSpec) {
      assertSafeSpec(spec.handle, spec.env);
      assertSafeVolume(spec.volume);
      if (handleOfVolume(spec.volume) !== spec.handle)
        throw new RuntimeError('invalid', `volume ${spec.volume} is not one of ${spec.handle}'s`);
      await driver.ensureVolume(spec.volume);
      const env = {
        ...spec.env,
        // Fixed by the platform, whatever the spec says: where the gateway listens and keeps data.
        PORT: String(GATEWAY_PORT),
        HOST: '0.0.0.0',
        MATRIXOS_HOME: INSTANCE_HOME,
        HOME: INSTANCE_HOME,
      };
      try {
        const container = await docker.createContainer({
          name: containerName(spec.handle),
          Image: spec.image,
          Hostname: spec.handle,
          User: INSTANCE_USER,
          Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
          Labels: { ...labels(spec.handle), [LABEL_VOLUME]: spec.volume },
          // The image's HEALTHCHECK forks a `node` every 15 s in every instance (0.7 cores for 100
          // idle ones, measured) and the platform never reads it: it asks /health itself on start.
          Healthcheck: { Test: ['NONE'] },
          HostConfig: {
            NetworkMode: networkId ?? network,
            Privileged: false,
            CapDrop: ['ALL'],
            SecurityOpt: ['no-new-privileges'],
            ReadonlyRootfs: true,
            Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${tmpfsBytes}` },
            // The only mount: the user's own volume. No binds, so no host path and no docker.sock.
            Mounts: [
              { Type: 'volume', Source: volumeName(spec.volume), Target: INSTANCE_HOME, ReadOnly: false },
            ],
            Memory: spec.limits.memoryBytes,
            MemorySwap: spec.limits.memoryBytes,
            NanoCpus: spec.limits.nanoCpus,
            PidsLimit: spec.limits.pids,
            IpcMode: 'private',
            // docker-init as PID 1 forwards SIGTERM and reaps zombies, so stops are quick.
            Init: true,
            RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
            LogConfig: { Type: 'json-file', Config: { 'max-size': '5m', 'max-file': '2' } },
          },
        });
        view.apply({ id: container.id, handle: spec.handle, state: 'stopped' });
        log.info({ handle: spec.handle, id: container.id, image: spec.image }, 'created instance container');
        return { id: container.id, handle: spec.handle, state: 'stopped', endpoint: null };
      } catch (err) {
        if (status(err) === 409) {
          throw new RuntimeError(
            'conflict',
            `${spec.handle} already has an instance (${containerName(spec.handle)})`,
            {
              cause: err,
            },
          );
        }
        if (status(err) === 404 && /no such image/i.test(errorText(err))) {
          throw new RuntimeError(
            'unavailable',
            `image ${spec.image} is not on the engine: build it first (npm run build:image)`,
            { cause: err },
          );
        }
        throw err;
      }
    },

    async start(id) {
      const info = await ownOrThrow(id);
      const container = docker.getContainer(info.Id);
      if (info.State.Paused) await ignoreStatus(container.unpause(), 409);
      else if (!info.State.Running) {
        await mountDiskOf(info);
        await ignoreStatus(container.start(), 304);
      } else return fromInspect(info);
      log.info({ handle: info.Config.Labels[LABEL_HANDLE], id: info.Id }, 'started instance');
      return fromInspect(await ownOrThrow(id));
    },

    async stop(id, graceMs = stopGraceMs) {
      const info = await own(id);
      if (!info || (!info.State.Running && !info.State.Paused)) return;
      await stopContainer(info, graceMs);
      log.info({ handle: info.Config.Labels[LABEL_HANDLE], id: info.Id }, 'stopped instance');
    },

    async pause(id) {
      const info = await ownOrThrow(id);
      if (info.State.Paused) return;
      if (!info.State.Running)
        throw new RuntimeError('conflict', `instance ${id} is not running: cannot pause it`);
      await docker.getContainer(info.Id).pause();
    },

    async resume(id) {
      const info = await ownOrThrow(id);
      if (!info.State.Paused && !info.State.Running) {
        throw new RuntimeError('conflict', `instance ${id} is stopped: start it instead`);
      }
      if (info.State.Paused) await ignoreStatus(docker.getContainer(info.Id).unpause(), 409);
      return { ...fromInspect(info), state: 'running' };
    },

    async remove(id) {
      const info = await own(id);
      if (!info) return;
      if (info.State.Running || info.State.Paused) await stopContainer(info, stopGraceMs);
      // `v: false`: anonymous volumes stay too; the named data volume is never touched here.
      await ignoreStatus(docker.getContainer(info.Id).remove({ force: true, v: false }), 404, 409);
      view.apply({ id: info.Id, handle: info.Config.Labels[LABEL_HANDLE]!, state: 'removed' });
      log.info({ handle: info.Config.Labels[LABEL_HANDLE], id: info.Id }, 'removed instance container');
    },

    async inspect(id) {
      const info = await own(id);
      if (!info) return null;
      const rt = fromInspect(info);
      view.learn(rt);
      return rt;
    },

    async resolveImage(image) {
      let info: Docker.ImageInspectInfo;
      try {
        info = await docker.getImage(image).inspect();
      } catch (err) {
        if (status(err) === 404) return null;
        throw err;
      }
      const inputs = info.Config?.Labels?.[LABEL_INPUTS];
      const contentTag = inputs && `${repositoryOf(image)}:${inputs}`;
      return contentTag && info.RepoTags?.includes(contentTag) ? contentTag : info.Id;
    },

    async list(filter = {}) {
      // Everything: from the view when it can be trusted. One handle: the engine, filtered by label.
      const known = filter.handle === undefined ? view.snapshot() : null;
      if (known) return known;
      const token = view.begin();
      const label = [`${LABEL_MANAGED}=1`, `${LABEL_PLATFORM}=${platformId}`];
      // The engine filters by label: one handle's lookup does not list every tenant's container.
      if (filter.handle !== undefined) label.push(`${LABEL_HANDLE}=${filter.handle}`);
      const containers = await docker.listContainers({ all: true, filters: { label } });
      const listed = containers
        .filter((c) => isOurs(c.Labels))
        .map((c): RuntimeInstance => {
          const state = mapState(c.State);
          const ip = c.NetworkSettings.Networks[network]?.IPAddress;
          return {
            id: c.Id,
            handle: c.Labels[LABEL_HANDLE]!,
            state,
            endpoint: state !== 'stopped' && ip ? { host: ip, port: GATEWAY_PORT } : null,
          };
        });
      if (filter.handle === undefined) view.prime(token, listed);
      return listed;
    },

    async setLimits(id, limits) {
      const info = await ownOrThrow(id);
      // The cgroup changes at once; memory above a lowered limit is reclaimed (or the OOM killer
      // ends the biggest process), as it would be at a start with that limit.
      await docker.getContainer(info.Id).update({
        Memory: limits.memoryBytes,
        MemorySwap: limits.memoryBytes,
        NanoCpus: limits.nanoCpus,
        PidsLimit: limits.pids,
      });
      log.info({ handle: info.Config.Labels[LABEL_HANDLE], id: info.Id, limits }, 'changed instance limits');
    },

    async stats(id): Promise<InstanceStats | null> {
      const info = await own(id);
      if (!info?.State.Running) return null;
      return sample(info.Id);
    },

    async statsAll() {
      // The awake ones (from the engine view, else one label-filtered listing), then one sample
      // each, a few at a time: their cgroup files when the engine is on this host, else a
      // one-shot engine sample (~10-40 ms instead of the ~1 s a two-reading sample waits).
      const known = view.snapshot();
      const ids = known
        ? known.filter((rt) => rt.state !== 'stopped').map((rt) => rt.id)
        : (
            await docker.listContainers({
              filters: {
                label: [`${LABEL_MANAGED}=1`, `${LABEL_PLATFORM}=${platformId}`],
                status: ['running', 'paused'],
              },
            })
          )
            .filter((c) => isOurs(c.Labels))
            .map((c) => c.Id);
      const live = new Set(ids);
      for (const id of cpuReadings.keys()) if (!live.has(id)) cpuReadings.delete(id);
      const out = new Map<string, InstanceStats>();
      let next = 0;
      const worker = async () => {
        while (next < ids.length) {
          const id = ids[next++]!;
          // A container that stopped meanwhile simply has no figures.
          const stats = await sample(id).catch(() => null);
          if (stats) out.set(id, stats);
        }
      };
      await Promise.all(Array.from({ length: Math.min(STATS_PARALLEL, ids.length) }, worker));
      return out;
    },

    async logs(id, tail) {
      const info = await ownOrThrow(id);
      const buf = await docker
        .getContainer(info.Id)
        .logs({ stdout: true, stderr: true, tail, follow: false });
      return demuxLogs(buf);
    },

    watch(onEvent) {
      let closed = false;
      let stream: NodeJS.ReadableStream | undefined;
      let retry: NodeJS.Timeout | undefined;
      const retryMs = options.watchRetryMs ?? 1000;
      const follow = async () => {
        try {
          const s = (await docker.getEvents({
            filters: {
              type: ['container'],
              label: [`${LABEL_MANAGED}=1`, `${LABEL_PLATFORM}=${platformId}`],
              event: ['create', 'start', 'die', 'pause', 'unpause', 'destroy'],
            },
          })) as NodeJS.ReadableStream;
          if (closed) return destroyStream(s);
          stream = s;
          view.stream(true);
          let buf = '';
          s.on('data', (chunk: Buffer) => {
            buf += chunk.toString('utf8');
            let nl = buf.indexOf('\n');
            while (nl !== -1) {
              const event = parseEvent(buf.slice(0, nl), isOurs);
              buf = buf.slice(nl + 1);
              if (event) view.apply(event);
              // A create is the view's news only: the platform made it, or reconcile finds it.
              if (event && !event.created)
                onEvent({ id: event.id, handle: event.handle, state: event.state });
              nl = buf.indexOf('\n');
            }
          });
          // The engine restarted, or the socket broke: follow again (the sweep covers the gap).
          s.once('error', again);
          s.once('end', again);
        } catch (err) {
          again(err);
        }
      };
      function again(err?: unknown) {
        if (closed) return;
        if (err) log.warn({ err: errorText(err) }, 'lost the engine event stream: following it again');
        options.onWatchReconnect?.();
        view.stream(false);
        stream = undefined;
        clearTimeout(retry);
        retry = setTimeout(() => void follow(), retryMs);
        retry.unref();
      }
      void follow();
      return () => {
        closed = true;
        view.stream(false);
        clearTimeout(retry);
        if (stream) destroyStream(stream);
      };
    },
  };
  return driver;
}

function destroyStream(s: NodeJS.ReadableStream): void {
  (s as unknown as { destroy?: () => void }).destroy?.();
}

/** Created, exited, dead and removing all need a `start`; restarting is the engine bringing it back. */
function mapState(status: string): RuntimeState {
  if (status === 'paused') return 'paused';
  if (status === 'running' || status === 'restarting') return 'running';
  return 'stopped';
}
