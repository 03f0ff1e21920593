import { instanceUrl, type PlatformConfig } from '../config.ts';
import type { InstanceRow } from '../db/schema.ts';

/** An instance as the API shows it: never its secrets. */
export interface InstanceView {
  handle: string;
  state: InstanceRow['state'];
  url: string;
  runtime: InstanceRow['runtime'];
  engineId: string | null;
  image: string;
  createdAt: string;
  updatedAt: string;
  lastActiveAt: string;
  lastError: string | null;
  /** The node holding its data (swarm); null on one-host runtimes. */
  node: string | null;
}

export function toView(row: InstanceRow, config: Pick<PlatformConfig, 'publicUrl'>): InstanceView {
  return {
    handle: row.handle,
    state: row.state,
    url: instanceUrl(config, row.handle),
    runtime: row.runtime,
    engineId: row.engineId,
    image: row.image,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    lastActiveAt: new Date(row.lastActiveAt).toISOString(),
    lastError: row.lastError,
    node: row.node ?? null,
  };
}
