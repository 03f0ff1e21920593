import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ResourceLimits } from '../driver.ts';

/** One instance as the process driver remembers it across platform restarts. */
export interface InstanceRecord {
  id: string;
  handle: string;
  /** The data volume (its key): the directory `homes/{volume}`; absent in older state files. */
  volume?: string;
  /** The spec's env: needed to start it again after a restart. Holds secrets, hence mode 0600. */
  env: Record<string, string>;
  limits: ResourceLimits;
  /** While it runs: the group leader's pid, its start time (which a recycled pid cannot share), its port. */
  proc: { pid: number; startTicks: number; port: number } | null;
}

export function loadRecords(file: string): InstanceRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const data = JSON.parse(text) as { instances?: InstanceRecord[] };
  if (!Array.isArray(data.instances)) throw new Error(`${file}: not a process runtime state file`);
  return data.instances;
}

/** Write-then-rename, so a crash mid-write leaves the previous state rather than half a file. */
export function saveRecords(file: string, records: Iterable<InstanceRecord>): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ instances: [...records] }, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}
