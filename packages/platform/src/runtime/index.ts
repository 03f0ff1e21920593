import type { Logger } from '@matrixos/shared';
import Docker from 'dockerode';
import { createLoopDisks, type LoopDisks } from './disks/loopDisks.ts';
import { createDockerDriver } from './docker/dockerDriver.ts';
import { pingEngine } from './docker/pingEngine.ts';
import { type RuntimeDriver, RuntimeError } from './driver.ts';
import { createProcessDriver } from './process/processDriver.ts';
import { parseNodeEngines } from './swarm/nodeEngines.ts';
import { createSwarmDriver } from './swarm/swarmDriver.ts';

export { createLoopDisks, type LoopDisks } from './disks/loopDisks.ts';
export { createDockerDriver, type DockerDriverOptions } from './docker/dockerDriver.ts';
export * from './driver.ts';
export { createProcessDriver, type ProcessDriverOptions } from './process/processDriver.ts';
export {
  createSwarmDriver,
  LABEL_NODE,
  type SwarmDriver,
  type SwarmDriverOptions,
} from './swarm/swarmDriver.ts';
export { NotReadyError, type WaitReadyOptions, waitReady } from './waitReady.ts';

export interface RuntimeConfig {
  /** `auto`: docker when an engine answers, else process (with its no-isolation warning). */
  runtime: 'auto' | 'docker' | 'process' | 'swarm';
  /** RUNTIME=swarm: see SWARM_* in config.ts. */
  swarm?: { nodeEngines: string; platformContainer?: string };
  dataDir: string;
  platformId: string;
  dockerNetwork?: string;
  log: Logger;
  /** Engine client (tests point it elsewhere); the default follows DOCKER_HOST. */
  docker?: Docker;
  /** The process driver's instance command (default: the gateway of this checkout). */
  processCommand?: string[];
  /** A disk quota per user volume (docker): a loop-mounted filesystem of `sizeBytes`; 0 = none. */
  disk?: { sizeBytes: number; dir: string };
  /** The docker driver's event stream was followed again after breaking. */
  onWatchReconnect?: () => void;
}

/** How long `auto` waits for the engine: a local socket answers in milliseconds. */
const AUTO_PING_TIMEOUT_MS = 2000;

/**
 * Picks and builds the runtime driver. The caller then runs `driver.init()`, which is where an
 * explicit `docker` without an engine fails, with the reason.
 */
export async function createRuntime(config: RuntimeConfig): Promise<RuntimeDriver> {
  const { log } = config;
  const docker = config.docker ?? new Docker();
  let kind = config.runtime;
  if (kind === 'auto') {
    try {
      await pingEngine(docker, AUTO_PING_TIMEOUT_MS);
      kind = 'docker';
    } catch (err) {
      log.warn(
        { reason: err instanceof Error ? err.message : String(err) },
        'no Docker engine answers: running instances as local processes (RUNTIME=process), without isolation',
      );
      kind = 'process';
    }
  }
  log.info({ runtime: kind }, 'runtime driver selected');
  if (kind === 'swarm') {
    const engines = parseNodeEngines(config.swarm?.nodeEngines ?? '');
    return createSwarmDriver({
      manager: docker,
      nodes: new Map([...engines].map(([name, opts]) => [name, new Docker(opts)])),
      platformId: config.platformId,
      platformContainer: config.swarm?.platformContainer,
      log,
    });
  }
  if (kind === 'docker') {
    return createDockerDriver({
      docker,
      platformId: config.platformId,
      network: config.dockerNetwork,
      log,
      disks: diskQuota(config.disk, log),
      onWatchReconnect: config.onWatchReconnect,
    });
  }
  return createProcessDriver({
    dataDir: config.dataDir,
    platformId: config.platformId,
    command: config.processCommand,
    log,
  });
}

/** The instance's user (the image's `node`), who owns the data directory of each disk. */
const INSTANCE_UID = 1000;

/** The loop disks behind INSTANCE_DISK, or none when it is 0. Loop mounts need root. */
export function diskQuota(disk: RuntimeConfig['disk'], log: Logger): LoopDisks | undefined {
  if (!disk || disk.sizeBytes === 0) return undefined;
  if (process.getuid?.() !== 0) {
    throw new RuntimeError(
      'unavailable',
      `INSTANCE_DISK=${disk.sizeBytes} gives each user volume its own loop-mounted filesystem, which needs ` +
        'root: run the platform as root (as its systemd unit does), or set INSTANCE_DISK=0 (no disk quota)',
    );
  }
  return createLoopDisks({
    dir: disk.dir,
    sizeBytes: disk.sizeBytes,
    uid: INSTANCE_UID,
    gid: INSTANCE_UID,
    log: log.child({ module: 'disks' }),
  });
}
