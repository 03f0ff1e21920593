import { hostname } from 'node:os';
import type { Logger } from '@matrixos/shared';
import type Docker from 'dockerode';
import { demuxLogs } from '../docker/demuxLogs.ts';
import { errorText, ignoreStatus, status } from '../docker/engineErrors.ts';
import { type CpuReading, cpuReadingOf, statsFromEngine } from '../docker/engineStats.ts';
import { pingEngine } from '../docker/pingEngine.ts';
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
  type RuntimeEvent,
  type RuntimeInstance,
  type StartOptions,
} from '../driver.ts';
import { assertPlatformId, assertSafeSpec, assertSafeVolume, handleOfVolume } from '../validate.ts';
import { copyVolume } from './copyVolume.ts';
import { type NodeView, nodeProblem, placeNode } from './placeNode.ts';
import { type TaskView, taskOutcome } from './taskProgress.ts';

/** The node label that marks a node for instances and names it (pins and records use the name). */
export const LABEL_NODE = 'dev.matrixos.node';
const LABEL_VOLUME = 'dev.matrixos.volume';
const INSTANCE_USER = '1000:1000';
/** The platform's name on every user's network: instances' URLs for it (proxy, instance API) use it. */
export const PLATFORM_ALIAS = 'matrixos-platform';

export interface SwarmDriverOptions {
  /** A manager's engine (services, tasks, nodes). */
  manager: Docker;
  /** Each instance node's own engine by node name (volumes, logs, stats): see `parseNodeEngines`. */
  nodes: Map<string, Docker>;
  platformId: string;
  /**
   * The platform's own container (name or ID, on the manager or a configured node), which the
   * driver connects to each user's network. Default: this host's name, which Docker sets to the
   * container's ID. Operator commands run outside it and never need it.
   */
  platformContainer?: string;
  /**
   * False for operator commands beside a running platform (move-user): they use services and
   * volumes only, and leave the networks (and the platform container on them) to the platform.
   */
  manageNetworks?: boolean;
  log: Logger;
  stopGraceMs?: number;
  tmpfsBytes?: number;
  /** How long `start` waits for a task to run before giving up with its last state. */
  startTimeoutMs?: number;
  /** How often the engine is asked while waiting, and while watching for changes. */
  pollMs?: number;
}

interface ServiceInfo {
  ID: string;
  Version: { Index: number };
  Spec: {
    Name: string;
    Labels?: Record<string, string>;
    Mode?: { Replicated?: { Replicas?: number } };
    TaskTemplate?: unknown;
    [k: string]: unknown;
  };
}
interface TaskInfo {
  ID: string;
  NodeID?: string;
  DesiredState: string;
  Status: { State: string; Err?: string; Message?: string; ContainerStatus?: { ContainerID?: string } };
  NetworksAttachments?: { Network: { ID: string; Spec?: { Name?: string } }; Addresses?: string[] }[];
  CreatedAt?: string;
}

/** What only Swarm needs: moving a user's data between nodes (`matrixos move-user`). */
export interface SwarmDriver extends RuntimeDriver {
  /** Copies a (stopped) user's volume to `toNode`, checks the copy, removes the original. */
  moveVolume(key: string, toNode: string, image: string): Promise<{ from: string; entries: number }>;
  /** Pins an instance's service to `node` (where its volume now is). */
  repin(id: string, node: string): Promise<void>;
}

/**
 * Instances on Docker Swarm: one replicated service per user (1 replica = running, 0 = stopped),
 * each on an attachable overlay network of its own with DNS round-robin endpoints (this kernel
 * has no IPVS, so no virtual IPs or routing mesh), pinned by a node-label constraint to the node
 * that holds the user's volume. Overlays have no switch against traffic between their members,
 * so tenants share none: the platform's container is the only other member of each user's
 * network. Swarm schedules; the platform only picks a node for a new user's volume.
 */
export function createSwarmDriver(options: SwarmDriverOptions): SwarmDriver {
  const { platformId, log, manager } = options;
  assertPlatformId(platformId);
  const stopGraceMs = options.stopGraceMs ?? 10_000;
  const tmpfsBytes = options.tmpfsBytes ?? 64 * 1024 * 1024;
  const startTimeoutMs = options.startTimeoutMs ?? 90_000;
  const pollMs = options.pollMs ?? 250;
  /** Each awake instance's last CPU reading (by service): the next one-shot sample's CPU share is since then. */
  const cpuReadings = new Map<string, CpuReading>();
  /**
   * Stats calls in flight at once during `statsAll` (each to the engine of the task's node). A
   * one-shot sample still waits for the engine's next stats tick (once a second: 700 ms apart
   * measured), and all calls in flight are answered at the same tick: so as many at once as can
   * be (16 at once took 2.1 s for 30 instances, two ticks).
   */
  const STATS_PARALLEL = 128;
  /** The platform's container and the networks it is on (by ID), once found at `init`. */
  let seat: { engine: Docker; id: string; networks: Set<string> } | undefined;

  const serviceName = (handle: string) => `${platformId}-${handle}`;
  const networkName = (handle: string) => `${platformId}-u-${handle}`;
  const volumeName = (key: string) => `${platformId}-home-${key}`;
  const volumePrefix = `${platformId}-home-`;
  const ourLabels = [`${LABEL_MANAGED}=1`, `${LABEL_PLATFORM}=${platformId}`];
  const labels = (handle: string) => ({
    [LABEL_MANAGED]: '1',
    [LABEL_PLATFORM]: platformId,
    [LABEL_HANDLE]: handle,
  });
  const isOurs = (l: Record<string, string> | undefined | null) =>
    l?.[LABEL_MANAGED] === '1' && l[LABEL_PLATFORM] === platformId && typeof l[LABEL_HANDLE] === 'string';

  function engineOf(node: string): Docker {
    const e = options.nodes.get(node);
    if (!e)
      throw new RuntimeError('unavailable', `no engine configured for node ${node} (SWARM_NODE_ENGINES)`);
    return e;
  }

  async function nodes(): Promise<Map<string, NodeView & { id: string }>> {
    const list = (await manager.listNodes()) as {
      ID: string;
      Spec?: { Labels?: Record<string, string>; Availability?: string };
      Status?: { State?: string };
      Description?: { Resources?: { MemoryBytes?: number } };
    }[];
    const out = new Map<string, NodeView & { id: string }>();
    for (const n of list) {
      const name = n.Spec?.Labels?.[LABEL_NODE];
      if (!name) continue;
      out.set(name, {
        id: n.ID,
        name,
        status: n.Status?.State ?? 'unknown',
        availability: n.Spec?.Availability ?? 'active',
        memoryBytes: n.Description?.Resources?.MemoryBytes ?? 0,
      });
    }
    return out;
  }

  async function services(handle?: string): Promise<ServiceInfo[]> {
    const label = [...ourLabels];
    if (handle !== undefined) label.push(`${LABEL_HANDLE}=${handle}`);
    const list = (await manager.listServices({ filters: { label } })) as unknown as ServiceInfo[];
    return list.filter((s) => isOurs(s.Spec.Labels));
  }

  async function own(id: string): Promise<ServiceInfo | null> {
    try {
      const info = (await manager.getService(id).inspect()) as ServiceInfo;
      return isOurs(info.Spec.Labels) ? info : null;
    } catch (err) {
      if (status(err) === 404) return null;
      throw err;
    }
  }

  async function ownOrThrow(id: string): Promise<ServiceInfo> {
    const info = await own(id);
    if (!info) throw new RuntimeError('not_found', `no instance ${id} on this platform`);
    return info;
  }

  async function tasksOf(serviceId: string): Promise<TaskInfo[]> {
    const list = (await manager.listTasks({ filters: { service: [serviceId] } })) as TaskInfo[];
    // Newest first: the current task is the one Swarm made last.
    return list.sort((a, b) => (b.CreatedAt ?? '').localeCompare(a.CreatedAt ?? ''));
  }

  const replicasOf = (s: ServiceInfo) => s.Spec.Mode?.Replicated?.Replicas ?? 0;
  const nodeOfService = (s: ServiceInfo) => s.Spec.Labels?.[LABEL_NODE] ?? null;

  /** A task's address on its user's network (the one the platform shares with it). */
  function addressOf(task: TaskInfo, handle: string): string | null {
    const att = task.NetworksAttachments?.find((a) => a.Network.Spec?.Name === networkName(handle));
    return att?.Addresses?.[0]?.split('/')[0] ?? null;
  }

  /** The service as an instance: running only when its current task runs (it has an address then). */
  async function view(
    s: ServiceInfo,
    known?: Map<string, NodeView>,
    tasks?: TaskInfo[],
  ): Promise<RuntimeInstance> {
    const handle = s.Spec.Labels![LABEL_HANDLE]!;
    const node = nodeOfService(s);
    const base = { id: s.ID, handle, node };
    if (replicasOf(s) === 0) return { ...base, state: 'stopped', endpoint: null };
    const current = (tasks ?? (await tasksOf(s.ID))).find((t) => t.DesiredState === 'running');
    const ip = current?.Status.State === 'running' ? addressOf(current, handle) : null;
    if (ip) return { ...base, state: 'running', endpoint: { host: ip, port: GATEWAY_PORT } };
    const problem = node ? nodeProblem((known ?? (await nodes())).get(node), node) : null;
    return {
      ...base,
      state: 'stopped',
      endpoint: null,
      ...(problem ? { unavailable: problem } : {}),
    };
  }

  /**
   * Which node holds a volume. Every configured engine is asked; when one does not answer and no
   * other has it, nobody can say, and the answer is an error, never "nowhere": an empty volume
   * made elsewhere would hide the user's data.
   */
  async function locateVolume(key: string): Promise<string | null> {
    const silent: string[] = [];
    for (const [name, engine] of options.nodes) {
      try {
        await engine.getVolume(volumeName(key)).inspect();
        return name;
      } catch (err) {
        if (status(err) !== 404) silent.push(name);
      }
    }
    if (silent.length) {
      throw new RuntimeError(
        'unavailable',
        `cannot tell where the data ${key} is: node ${silent.join(', ')} does not answer (refusing to make an empty volume elsewhere)`,
      );
    }
    return null;
  }

  async function committed(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const s of await services()) {
      const node = nodeOfService(s);
      const limits = (s.Spec.TaskTemplate as { Resources?: { Limits?: { MemoryBytes?: number } } })?.Resources
        ?.Limits;
      if (node) out.set(node, (out.get(node) ?? 0) + (limits?.MemoryBytes ?? 0));
    }
    return out;
  }

  async function setReplicas(id: string, replicas: number): Promise<ServiceInfo> {
    // The engine refuses an update made against an older version: read, write, and again if raced.
    for (let attempt = 0; ; attempt++) {
      const info = await ownOrThrow(id);
      if (replicasOf(info) === replicas) return info;
      try {
        await manager.getService(info.ID).update({
          ...info.Spec,
          Mode: { Replicated: { Replicas: replicas } },
          version: info.Version.Index,
        });
        return ownOrThrow(id);
      } catch (err) {
        if (attempt < 3 && /update out of sequence/i.test(errorText(err))) continue;
        throw err;
      }
    }
  }

  async function waitStopped(id: string, graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs + 15_000;
    while (Date.now() < deadline) {
      const live = (await tasksOf(id)).filter((t) =>
        ['running', 'starting', 'preparing'].includes(t.Status.State),
      );
      if (live.length === 0) return;
      await sleep(pollMs);
    }
    log.warn({ id }, 'swarm: a task of a stopped service still runs after the grace period');
  }

  /** Our overlay networks by name (only those: another platform's share the manager). */
  async function ourNetworks(name?: string): Promise<Docker.NetworkInspectInfo[]> {
    const filters: Record<string, string[]> = { label: ourLabels.slice() };
    if (name) filters.name = [name];
    return (await manager.listNetworks({ filters })).filter(
      (n) => isOursNetwork(n.Labels) && (!name || n.Name === name),
    );
  }
  const isOursNetwork = (l: Record<string, string> | undefined | null) =>
    l?.[LABEL_MANAGED] === '1' && l[LABEL_PLATFORM] === platformId;

  function requireSeat(): void {
    if (!seat)
      throw new RuntimeError(
        'unavailable',
        "the platform is not in a container of the swarm, so it cannot join the users' networks: run it in one on a node (SWARM_PLATFORM_CONTAINER)",
      );
  }

  /** Puts the platform's container on a network (as `PLATFORM_ALIAS`), once. */
  async function attachSeat(networkId: string): Promise<void> {
    if (!seat || seat.networks.has(networkId)) return;
    try {
      await seat.engine
        .getNetwork(networkId)
        .connect({ Container: seat.id, EndpointConfig: { Aliases: [PLATFORM_ALIAS] } });
    } catch (err) {
      if (!/already exists/i.test(errorText(err))) throw err;
    }
    seat.networks.add(networkId);
  }

  /** Takes the platform's container off a network it is on (before the network goes). */
  async function detachSeat(networkId: string): Promise<void> {
    if (!seat?.networks.has(networkId)) return;
    await seat.engine
      .getNetwork(networkId)
      .disconnect({ Container: seat.id, Force: true })
      .catch(() => undefined);
    seat.networks.delete(networkId);
  }

  /**
   * The user's own overlay network, made if missing, with the platform's container on it: the
   * router reaches the instance there and the instance reaches the platform there, and no other
   * tenant is on it.
   */
  async function ensureUserNetwork(handle: string): Promise<string> {
    requireSeat();
    const name = networkName(handle);
    let id = (await ourNetworks(name))[0]?.Id;
    if (!id) {
      try {
        const made = await manager.createNetwork({
          Name: name,
          Driver: 'overlay',
          Attachable: true,
          CheckDuplicate: true,
          Labels: labels(handle),
        });
        id = made.id;
        log.info({ handle, network: name }, "created the user's overlay network");
      } catch (err) {
        if (status(err) !== 409) throw err;
        id = (await ourNetworks(name))[0]?.Id;
      }
    }
    // By ID: a listing right after the create may not show it yet, and while the manager
    // allocates it (several at once) it reads with no driver for a moment.
    let net: Docker.NetworkInspectInfo | undefined;
    for (let attempt = 0; id && attempt < 20; attempt++) {
      net = (await manager.getNetwork(id).inspect()) as Docker.NetworkInspectInfo;
      if (net.Driver) break;
      await sleep(100);
    }
    if (net?.Driver !== 'overlay' || net.Scope !== 'swarm' || !net.Attachable)
      throw new RuntimeError(
        'unavailable',
        `network "${name}" is not an attachable overlay network of the swarm (${net ? `${net.Driver}, ${net.Scope}, attachable ${net.Attachable}` : 'missing'})`,
      );
    await attachSeat(net.Id);
    return net.Id;
  }

  /** After its service went: the platform leaves the user's network, and the network goes. */
  async function removeUserNetwork(handle: string): Promise<void> {
    for (const net of await ourNetworks(networkName(handle))) {
      await detachSeat(net.Id);
      // The task's endpoint lingers for a moment after its service went.
      for (let attempt = 0; ; attempt++) {
        try {
          await ignoreStatus(manager.getNetwork(net.Id).remove(), 404);
          break;
        } catch (err) {
          if (attempt >= 10) {
            log.warn(
              { handle, err: errorText(err) },
              "swarm: a user network stays (the platform's next start removes it)",
            );
            break;
          }
          await sleep(500);
        }
      }
    }
  }

  /** Finds the platform's own container on the manager or a configured node. */
  async function findSeat(): Promise<typeof seat> {
    const name = options.platformContainer ?? hostname();
    for (const engine of [manager, ...options.nodes.values()]) {
      try {
        const info = await engine.getContainer(name).inspect();
        const ids = Object.values(info.NetworkSettings?.Networks ?? {}).map((n) => n.NetworkID);
        return { engine, id: info.Id, networks: new Set(ids) };
      } catch (err) {
        if (status(err) !== 404) log.warn({ err: errorText(err) }, 'swarm: an engine did not answer');
      }
    }
    if (options.platformContainer)
      throw new RuntimeError(
        'unavailable',
        `SWARM_PLATFORM_CONTAINER=${name} is not a container on the manager or any node in SWARM_NODE_ENGINES`,
      );
    return undefined;
  }

  /**
   * Platforms before per-user networks put every instance on one shared overlay: those services
   * go (volumes stay), and the orchestrator makes each again on its own network at its next
   * start (the startup reconcile does it for the running ones). Networks whose user has no
   * service any more go too.
   */
  async function migrate(): Promise<void> {
    const ours = await services();
    const nets = await ourNetworks();
    const idOf = new Map(nets.map((n) => [n.Name, n.Id]));
    for (const s of ours) {
      const handle = s.Spec.Labels![LABEL_HANDLE]!;
      const own = idOf.get(networkName(handle));
      const targets = ((s.Spec.TaskTemplate as { Networks?: { Target: string }[] })?.Networks ?? []).map(
        (n) => n.Target,
      );
      if (own && targets.length === 1 && (targets[0] === own || targets[0] === networkName(handle))) continue;
      log.warn(
        { handle, service: s.Spec.Name },
        'swarm: instance on a shared network: made again on its own',
      );
      await ignoreStatus(manager.getService(s.ID).remove(), 404);
    }
    const withService = new Set((await services()).map((s) => networkName(s.Spec.Labels![LABEL_HANDLE]!)));
    for (const n of nets) {
      if (withService.has(n.Name)) {
        await attachSeat(n.Id);
        continue;
      }
      const handle = n.Labels?.[LABEL_HANDLE];
      if (handle) await removeUserNetwork(handle);
      else {
        // The shared network of earlier versions (no handle label): empty once its services went.
        await detachSeat(n.Id);
        await manager
          .getNetwork(n.Id)
          .remove()
          .then(() => log.info({ network: n.Name }, 'swarm: removed the shared network of earlier versions'))
          .catch(() => undefined);
      }
    }
  }

  const driver: SwarmDriver = {
    kind: 'swarm',
    isolated: true,
    pausable: false,

    async init() {
      try {
        await pingEngine(manager, 5000);
      } catch (err) {
        throw new RuntimeError('unavailable', `the swarm manager does not answer (${errorText(err)})`, {
          cause: err,
        });
      }
      const info = (await manager.info()) as {
        Swarm?: { ControlAvailable?: boolean; LocalNodeState?: string };
      };
      if (info.Swarm?.LocalNodeState !== 'active' || !info.Swarm.ControlAvailable) {
        throw new RuntimeError(
          'unavailable',
          'RUNTIME=swarm needs DOCKER_HOST to be a swarm manager (docker swarm init / join as manager)',
        );
      }
      const known = await nodes();
      if (known.size === 0) {
        throw new RuntimeError(
          'unavailable',
          `no swarm node is labelled for instances: docker node update --label-add ${LABEL_NODE}=<name> <node>`,
        );
      }
      for (const name of known.keys())
        if (!options.nodes.has(name)) log.warn({ node: name }, 'swarm: no engine configured for this node');
      if (options.manageNetworks === false) {
        log.info({ nodes: [...known.keys()] }, 'swarm runtime ready (services and volumes only)');
        return;
      }
      seat = await findSeat();
      if (!seat)
        log.warn('swarm: this process is not in a container of the swarm (SWARM_PLATFORM_CONTAINER)');
      else await migrate();
      log.info({ nodes: [...known.keys()], container: seat?.id }, 'swarm runtime ready');
    },

    hostAddress() {
      // The platform's container is on every user's network and on nothing a tenant can reach
      // otherwise (docker_gwbridge keeps its members apart): services for instances listen on all
      // of its interfaces, and each instance finds them at PLATFORM_ALIAS on its own network.
      requireSeat();
      return '0.0.0.0';
    },

    hostName() {
      requireSeat();
      return PLATFORM_ALIAS;
    },

    async ensureVolume(key) {
      assertSafeVolume(key);
      if (await locateVolume(key)) return { created: false };
      const node = placeNode(
        [...(await nodes()).values()].filter((n) => options.nodes.has(n.name)),
        await committed(),
      );
      if (!node)
        throw new RuntimeError('unavailable', 'no instance node can take a new user (all drained or down)');
      const handle = handleOfVolume(key);
      await engineOf(node).createVolume({
        Name: volumeName(key),
        Labels: { ...labels(handle), [LABEL_VOLUME]: key, [LABEL_NODE]: node },
      });
      log.info({ handle, volume: volumeName(key), node }, 'created data volume');
      return { created: true };
    },

    async hasVolume(key) {
      assertSafeVolume(key);
      return (await locateVolume(key)) !== null;
    },

    async removeVolume(key) {
      assertSafeVolume(key);
      const node = await locateVolume(key);
      if (!node) return;
      try {
        await engineOf(node).getVolume(volumeName(key)).remove();
        log.warn({ volume: volumeName(key), node }, 'deleted data volume');
      } catch (err) {
        if (status(err) === 409)
          throw new RuntimeError('conflict', `the data volume ${key} is in use: remove its instance first`, {
            cause: err,
          });
        if (status(err) !== 404) throw err;
      }
    },

    async listVolumes() {
      const keys = new Set<string>();
      for (const [node, engine] of options.nodes) {
        try {
          const { Volumes } = await engine.listVolumes({ filters: { label: ourLabels } });
          for (const v of Volumes ?? [])
            if (isOurs(v.Labels) && v.Name.startsWith(volumePrefix))
              keys.add(v.Name.slice(volumePrefix.length));
        } catch (err) {
          log.warn({ node, err: errorText(err) }, 'swarm: cannot list the volumes of a node');
        }
      }
      return [...keys];
    },

    async create(spec: InstanceSpec) {
      assertSafeSpec(spec.handle, spec.env);
      assertSafeVolume(spec.volume);
      if (handleOfVolume(spec.volume) !== spec.handle)
        throw new RuntimeError('invalid', `volume ${spec.volume} is not one of ${spec.handle}'s`);
      if ((await services(spec.handle)).length)
        throw new RuntimeError(
          'conflict',
          `${spec.handle} already has an instance (${serviceName(spec.handle)})`,
        );
      await driver.ensureVolume(spec.volume);
      const networkId = await ensureUserNetwork(spec.handle);
      const node = await locateVolume(spec.volume);
      if (!node) throw new RuntimeError('unavailable', `the data volume ${spec.volume} vanished`);
      const env = {
        ...spec.env,
        PORT: String(GATEWAY_PORT),
        HOST: '0.0.0.0',
        MATRIXOS_HOME: INSTANCE_HOME,
        HOME: INSTANCE_HOME,
      };
      const l = { ...labels(spec.handle), [LABEL_VOLUME]: spec.volume, [LABEL_NODE]: node };
      try {
        const created = (await manager.createService({
          Name: serviceName(spec.handle),
          Labels: l,
          TaskTemplate: {
            ContainerSpec: {
              Image: spec.image,
              Hostname: spec.handle,
              User: INSTANCE_USER,
              Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
              Labels: l,
              ReadOnly: true,
              Init: true,
              // Engine API 1.41 (Docker 20.10) has no per-service no-new-privileges: the nodes'
              // daemons set it for every container (`"no-new-privileges": true`, docs/swarm.md);
              // newer engines (1.44+) also take it from here.
              Privileges: { NoNewPrivileges: true },
              CapabilityDrop: ['ALL'],
              // The image's HEALTHCHECK would hold the task in `starting` until its first pass (15 s
              // and more here) and fork a node process every interval; the platform checks readiness itself.
              HealthCheck: { Test: ['NONE'] },
              StopGracePeriod: stopGraceMs * 1_000_000,
              Mounts: [
                { Type: 'volume', Source: volumeName(spec.volume), Target: INSTANCE_HOME, ReadOnly: false },
                { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: tmpfsBytes, Mode: 0o1777 } },
              ],
            },
            Resources: {
              Limits: {
                MemoryBytes: spec.limits.memoryBytes,
                NanoCPUs: spec.limits.nanoCpus,
                Pids: spec.limits.pids,
              },
            },
            RestartPolicy: { Condition: 'on-failure', MaxAttempts: 3 },
            // Pinned to the data: if that node is gone, the task waits for it, never runs empty elsewhere.
            Placement: { Constraints: [`node.labels.${LABEL_NODE}==${node}`] },
            Networks: [{ Target: networkId }],
            LogDriver: { Name: 'json-file', Options: { 'max-size': '5m', 'max-file': '2' } },
          },
          Mode: { Replicated: { Replicas: 0 } },
          EndpointSpec: { Mode: 'dnsrr' },
        } as unknown as Docker.CreateServiceOptions)) as unknown as { id?: string; ID?: string };
        const id = created.id ?? created.ID!;
        log.info({ handle: spec.handle, id, node, image: spec.image }, 'created instance service');
        return { id, handle: spec.handle, state: 'stopped', endpoint: null, node };
      } catch (err) {
        if (status(err) === 409)
          throw new RuntimeError('conflict', `${spec.handle} already has an instance`, { cause: err });
        throw err;
      }
    },

    async start(id, opts: StartOptions = {}) {
      const before = await ownOrThrow(id);
      const handle = before.Spec.Labels![LABEL_HANDLE]!;
      const node = nodeOfService(before);
      if (node) {
        const problem = nodeProblem((await nodes()).get(node), node);
        if (problem) throw new RuntimeError('unavailable', `${handle} cannot start: ${problem}`);
      }
      // A platform container made since the network was (an upgrade) joins it here.
      await ensureUserNetwork(handle);
      // Swarm keeps the tasks of earlier runs (ended `complete` or `shutdown`): only this start's count.
      const earlier = new Set((await tasksOf(id)).map((t) => t.ID));
      await setReplicas(id, 1);
      const deadline = Date.now() + startTimeoutMs;
      let last = '';
      let failures = 0;
      const seenFailed = new Set<string>();
      while (Date.now() < deadline) {
        const tasks = (await tasksOf(id)).filter((t) => !earlier.has(t.ID) || t.DesiredState === 'running');
        for (const t of tasks) {
          if (seenFailed.has(t.ID)) continue;
          const out = taskOutcome(taskView(t));
          // A task that ended is a failed try; Swarm makes a new one (RestartPolicy), up to three.
          if (out.kind === 'failed' && t.Status.State !== 'shutdown') {
            seenFailed.add(t.ID);
            failures++;
            opts.onProgress?.(out.message);
            if (failures >= 3)
              throw new RuntimeError('unavailable', `${handle} did not start: ${out.message}`);
          }
        }
        const current = tasks.find((t) => t.DesiredState === 'running');
        if (current) {
          const out = taskOutcome(taskView(current));
          if (out.kind === 'running') {
            const ip = addressOf(current, handle);
            if (ip) {
              log.info({ handle, id, node }, 'started instance');
              return { id, handle, node, state: 'running', endpoint: { host: ip, port: GATEWAY_PORT } };
            }
          } else if (out.kind === 'progress' && out.message !== last) {
            last = out.message;
            opts.onProgress?.(out.message);
          }
        }
        await sleep(pollMs);
      }
      throw new RuntimeError(
        'unavailable',
        `${handle} did not start within ${startTimeoutMs} ms (${last || 'no task'})`,
      );
    },

    async stop(id, graceMs = stopGraceMs) {
      const info = await own(id);
      if (!info) return;
      if (replicasOf(info) !== 0) {
        await setReplicas(id, 0);
        log.info({ handle: info.Spec.Labels?.[LABEL_HANDLE], id }, 'stopped instance');
      }
      await waitStopped(info.ID, graceMs);
    },

    async pause() {
      throw new RuntimeError('conflict', 'Swarm cannot pause a service: the platform stops it instead');
    },

    async resume(id) {
      const info = await ownOrThrow(id);
      const rt = await view(info);
      if (rt.state !== 'running')
        throw new RuntimeError('conflict', `instance ${id} is stopped: start it instead`);
      return rt;
    },

    async remove(id) {
      const info = await own(id);
      if (!info) return;
      await driver.stop(id);
      // A service's removal never removes a named volume: the data stays on its node.
      await ignoreStatus(manager.getService(info.ID).remove(), 404);
      const handle = info.Spec.Labels![LABEL_HANDLE]!;
      await removeUserNetwork(handle);
      log.info({ handle, id }, 'removed instance service');
    },

    async inspect(id) {
      const info = await own(id);
      return info && view(info);
    },

    async list(filter = {}) {
      const found = await services(filter.handle);
      if (found.length === 0) return [];
      const known = await nodes();
      // One listing of the tasks meant to run, for every service: not one call per instance.
      const running = (await manager.listTasks({
        filters: { 'desired-state': ['running'] },
      })) as (TaskInfo & {
        ServiceID: string;
      })[];
      const byService = new Map<string, TaskInfo[]>();
      for (const t of running) byService.set(t.ServiceID, [...(byService.get(t.ServiceID) ?? []), t]);
      return Promise.all(found.map((s) => view(s, known, byService.get(s.ID) ?? [])));
    },

    async resolveImage(image) {
      // Swarm has no image store: every instance node must have it (docker save | docker load).
      try {
        const info = await manager.getImage(image).inspect();
        const inputs = info.Config?.Labels?.['dev.matrixos.inputs'];
        const at = image.lastIndexOf(':');
        const repo = at > image.lastIndexOf('/') ? image.slice(0, at) : image;
        const contentTag = inputs && `${repo}:${inputs}`;
        return contentTag && info.RepoTags?.includes(contentTag) ? contentTag : image;
      } catch (err) {
        if (status(err) === 404) return null;
        throw err;
      }
    },

    async stats(id) {
      const container = await containerOf(id);
      return container && sample(id, container);
    },

    async statsAll() {
      // One listing of the running tasks, then a one-shot sample of each on its node's engine
      // (a two-reading sample waits two ticks, ~2 s, per instance).
      const byService = new Map<string, Docker.Container>();
      const tasks = (await manager.listTasks({ filters: { 'desired-state': ['running'] } })) as (TaskInfo & {
        ServiceID: string;
      })[];
      const runningBy = new Map(
        tasks.filter((x) => x.Status.State === 'running').map((x) => [x.ServiceID, x]),
      );
      for (const s of await services()) {
        const node = nodeOfService(s);
        const t = runningBy.get(s.ID);
        const cid = t?.Status.ContainerStatus?.ContainerID;
        if (node && cid && options.nodes.has(node)) byService.set(s.ID, engineOf(node).getContainer(cid));
      }
      for (const id of cpuReadings.keys()) if (!byService.has(id)) cpuReadings.delete(id);
      const out = new Map<string, InstanceStats>();
      const todo = [...byService];
      const worker = async () => {
        while (todo.length > 0) {
          const [id, container] = todo.shift()!;
          // A task that ended meanwhile (or a node that stopped answering) has no figures.
          const stats = await sample(id, container).catch(() => null);
          if (stats) out.set(id, stats);
        }
      };
      await Promise.all(Array.from({ length: Math.min(STATS_PARALLEL, todo.length) }, worker));
      return out;
    },

    async logs(id, tail) {
      const container = await containerOf(id);
      if (!container) return '';
      return demuxLogs(await container.logs({ stdout: true, stderr: true, tail, follow: false }));
    },

    async moveVolume(key, toNode, image) {
      assertSafeVolume(key);
      const from = await locateVolume(key);
      if (!from) throw new RuntimeError('not_found', `no data volume ${key} on any node`);
      if (from === toNode) return { from, entries: 0 };
      const target = (await nodes()).get(toNode);
      const problem = nodeProblem(target, toNode);
      if (problem)
        throw new RuntimeError('unavailable', `cannot move there: ${problem.replace('its data is on ', '')}`);
      const handle = handleOfVolume(key);
      const live = (await services(handle)).find((s) => replicasOf(s) > 0);
      if (live) throw new RuntimeError('conflict', `${handle} is running: stop it first`);
      const name = volumeName(key);
      const src = engineOf(from);
      const dst = engineOf(toNode);
      try {
        await dst.getVolume(name).inspect();
        throw new RuntimeError('conflict', `node ${toNode} already has a volume ${name}: remove it first`);
      } catch (err) {
        if (err instanceof RuntimeError) throw err;
        if (status(err) !== 404) throw err;
      }
      // Labelled like any data volume once made; copied under the same name, then the original goes.
      await dst.createVolume({
        Name: name,
        Labels: { ...labels(handle), [LABEL_VOLUME]: key, [LABEL_NODE]: toNode },
      });
      let entries: number;
      try {
        entries = await copyVolume({ engine: src, volume: name }, { engine: dst, volume: name }, image);
      } catch (err) {
        await dst
          .getVolume(name)
          .remove()
          .catch(() => undefined);
        throw err;
      }
      try {
        // Swarm keeps the exited containers of earlier tasks (its task history): they hold the volume.
        for (const c of await src.listContainers({ all: true, filters: { volume: [name] } }))
          if (isOurs(c.Labels) && c.State !== 'running')
            await ignoreStatus(src.getContainer(c.Id).remove({ v: false }), 404);
        await src.getVolume(name).remove();
      } catch (err) {
        // One place for the data, always: the copy goes, the original stays where it was.
        await dst
          .getVolume(name)
          .remove()
          .catch(() => undefined);
        throw err;
      }
      log.warn({ handle, volume: name, from, to: toNode, entries }, 'moved data volume');
      return { from, entries };
    },

    async setLimits(id, limits) {
      // A service's resources are part of its spec: Swarm applies them by replacing the task, so a
      // running instance restarts (seconds); a stopped one (the usual case: before a start) does not.
      for (let attempt = 0; ; attempt++) {
        const info = await ownOrThrow(id);
        const spec = info.Spec as ServiceInfo['Spec'] & {
          TaskTemplate: { Resources?: Record<string, unknown> };
        };
        const want = { MemoryBytes: limits.memoryBytes, NanoCPUs: limits.nanoCpus, Pids: limits.pids };
        const have = spec.TaskTemplate.Resources?.Limits as typeof want | undefined;
        if (
          have?.MemoryBytes === want.MemoryBytes &&
          have.NanoCPUs === want.NanoCPUs &&
          have.Pids === want.Pids
        )
          return;
        try {
          await manager.getService(info.ID).update({
            ...spec,
            TaskTemplate: {
              ...spec.TaskTemplate,
              Resources: { ...spec.TaskTemplate.Resources, Limits: want },
            },
            version: info.Version.Index,
          });
          return;
        } catch (err) {
          if (attempt < 3 && /update out of sequence/i.test(errorText(err))) continue;
          throw err;
        }
      }
    },

    async repin(id, node) {
      for (let attempt = 0; ; attempt++) {
        const info = await ownOrThrow(id);
        const spec = info.Spec as ServiceInfo['Spec'] & {
          TaskTemplate: {
            Placement?: { Constraints?: string[] };
            ContainerSpec: { Labels?: Record<string, string> };
          };
        };
        const constraints = (spec.TaskTemplate.Placement?.Constraints ?? []).filter(
          (c) => !c.startsWith(`node.labels.${LABEL_NODE}==`),
        );
        const l = { ...spec.Labels, [LABEL_NODE]: node };
        try {
          await manager.getService(info.ID).update({
            ...spec,
            Labels: l,
            TaskTemplate: {
              ...spec.TaskTemplate,
              ContainerSpec: { ...spec.TaskTemplate.ContainerSpec, Labels: l },
              Placement: {
                ...spec.TaskTemplate.Placement,
                Constraints: [...constraints, `node.labels.${LABEL_NODE}==${node}`],
              },
            },
            version: info.Version.Index,
          });
          return;
        } catch (err) {
          if (attempt < 3 && /update out of sequence/i.test(errorText(err))) continue;
          throw err;
        }
      }
    },

    watch(onEvent) {
      // Task state is not in Swarm's event stream: a light poll of our services (one list) diffs
      // what changed, also when a node was lost or drained behind the platform's back.
      const last = new Map<string, RuntimeEvent>();
      let first = true;
      let busy = false;
      const tick = async () => {
        if (busy) return;
        busy = true;
        try {
          const now = new Map((await driver.list()).map((r) => [r.id, r] as const));
          for (const [sid, r] of now) {
            const prev = last.get(sid);
            const e: RuntimeEvent = { id: sid, handle: r.handle, state: r.state };
            if (!first && prev?.state !== r.state) onEvent(e);
            last.set(sid, e);
          }
          for (const [sid, prev] of last) {
            if (now.has(sid)) continue;
            last.delete(sid);
            onEvent({ ...prev, state: 'removed' });
          }
          first = false;
        } catch (err) {
          log.debug({ err: errorText(err) }, 'swarm watch: the manager did not answer');
        } finally {
          busy = false;
        }
      };
      const timer = setInterval(() => void tick(), Math.max(pollMs * 8, 2000));
      timer.unref();
      void tick();
      return () => clearInterval(timer);
    },
  };

  /** A one-shot engine sample (answered at once), its CPU share since the last one of this instance. */
  async function sample(id: string, container: Docker.Container): Promise<InstanceStats> {
    const s = await container.stats({ stream: false, 'one-shot': true } as { stream: false });
    const stats = statsFromEngine(s, cpuReadings.get(id));
    cpuReadings.set(id, cpuReadingOf(s));
    return stats;
  }

  /** The running container of an instance's current task, on its node's engine. */
  async function containerOf(id: string): Promise<Docker.Container | null> {
    const info = await own(id);
    const node = info && nodeOfService(info);
    if (!info || !node || replicasOf(info) === 0) return null;
    const t = (await tasksOf(info.ID)).find(
      (x) => x.DesiredState === 'running' && x.Status.State === 'running',
    );
    const cid = t?.Status.ContainerStatus?.ContainerID;
    return cid ? engineOf(node).getContainer(cid) : null;
  }

  return driver;
}

function taskView(t: TaskInfo): TaskView {
  return { state: t.Status.State, desired: t.DesiredState, error: t.Status.Err, message: t.Status.Message };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
