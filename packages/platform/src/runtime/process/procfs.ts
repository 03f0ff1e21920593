import { readdirSync, readFileSync } from 'node:fs';

/**
 * Clock ticks per second of the times in /proc/<pid>/stat. Node cannot ask sysconf(_SC_CLK_TCK);
 * it is 100 on every Linux architecture Node ships for.
 */
export const CLOCK_TICKS = 100;

export interface ProcStat {
  /** R running, S sleeping, T stopped (SIGSTOP), Z zombie, ... */
  state: string;
  pgrp: number;
  /** User plus system CPU time of the process itself, in ticks. */
  cpuTicks: number;
  /** When the process started, in ticks since boot: a recycled pid has a different one. */
  startTicks: number;
}

/** `/proc/<pid>/stat`, or null when there is no such process. */
export function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: fields start after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    state: f[0]!,
    pgrp: Number(f[2]),
    cpuTicks: Number(f[11]) + Number(f[12]),
    startTicks: Number(f[19]),
  };
}

/** Whether the process was started with `NAME=value` in its environment. */
export function hasEnvEntry(pid: number, entry: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry);
  } catch {
    return false;
  }
}

/** Resident memory of one process, in bytes (0 when it is gone). */
export function residentBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Pids of the live members of a process group (an instance and whatever it spawned). */
export function groupMembers(pgrp: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat && stat.pgrp === pgrp && stat.state !== 'Z') pids.push(Number(name));
  }
  return pids;
}

/** Seconds since boot, the clock `startTicks` counts on. */
export function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}
