import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@matrixos/shared';
import Database from 'better-sqlite3';
import Docker from 'dockerode';
import type { PlatformConfig } from '../config.ts';
import { parseNodeEngines } from '../runtime/swarm/nodeEngines.ts';
import { createSwarmDriver } from '../runtime/swarm/swarmDriver.ts';

/** `move-user` refused before anything changed (or after it put things back). */
export class MoveRefusedError extends Error {
  override name = 'MoveRefusedError';
}

/**
 * `matrixos move-user HANDLE NODE` (RUNTIME=swarm): the running platform stops the instance,
 * the volume is copied to NODE's engine (checked, then the original removed), the service is
 * pinned to NODE, and the platform starts it there (recording the node). Each step is the
 * platform's or the engine's own; a failed copy leaves the data where it was.
 */
export async function moveUser(
  config: PlatformConfig,
  handle: string,
  toNode: string,
  log: Logger,
): Promise<{ handle: string; from: string; to: string; entries: number }> {
  if (config.runtime !== 'swarm') throw new MoveRefusedError('move-user is for RUNTIME=swarm');
  const file = path.join(config.dataDir, 'platform.db');
  if (!existsSync(file)) throw new MoveRefusedError(`no platform database at ${file}: is DATA_DIR right?`);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  const row = db
    .prepare('SELECT volume, engine_id AS engineId, image FROM instances WHERE handle = ?')
    .get(handle) as { volume: string | null; engineId: string | null; image: string } | undefined;
  db.close();
  if (!row?.engineId) throw new MoveRefusedError(`${handle} has no instance here`);
  const engines = parseNodeEngines(config.swarm.nodeEngines);
  if (!engines.has(toNode)) throw new MoveRefusedError(`no engine for node ${toNode} in SWARM_NODE_ENGINES`);
  const driver = createSwarmDriver({
    manager: new Docker(),
    nodes: new Map([...engines].map(([name, o]) => [name, new Docker(o)])),
    platformId: config.platformId,
    manageNetworks: false,
    log,
  });
  await driver.init();

  const call = platformCaller(config);
  await call('stop', handle);
  const { from, entries } = await driver.moveVolume(row.volume ?? handle, toNode, row.image);
  await driver.repin(row.engineId, toNode);
  await call('start', handle);
  return { handle, from, to: toNode, entries };
}

/** The running platform's admin API on this machine (as `matrixos import` uses it). */
function platformCaller(config: PlatformConfig) {
  const token = config.adminToken ?? readFileSync(path.join(config.dataDir, 'admin-token'), 'utf8').trim();
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
  return async (op: 'stop' | 'start', handle: string) => {
    const r = await fetch(`${base}/containers/${handle}/${op}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    }).catch((err: unknown) => new Response(String(err), { status: 599 }));
    if (!r.ok)
      throw new MoveRefusedError(`the platform did not ${op} ${handle} (${r.status} ${await r.text()})`);
  };
}
