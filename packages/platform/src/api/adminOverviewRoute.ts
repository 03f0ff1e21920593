import { Hono } from 'hono';
import type { AccountStore } from '../accounts/accountStore.ts';
import type { InstanceView } from '../instances/toView.ts';
import type { Orchestrator } from '../orchestrator/orchestrator.ts';
import type { InstanceStats } from '../runtime/driver.ts';

/** Engine figures this recent are reused: one Docker stats call takes about a second. */
const STATS_TTL_MS = 5000;
/** A figure the engine has not given by then is shown as unknown rather than holding the page. */
const STATS_TIMEOUT_MS = 3000;

export interface OverviewInstance extends InstanceView {
  /** Whether an account owns it (instances made through the admin API have none). */
  hasAccount: boolean;
  /** Memory and CPU from the engine; null when asleep, or when the engine did not say in time. */
  stats: InstanceStats | null;
}

export interface Overview {
  generatedAt: string;
  runtime: { kind: string; isolated: boolean };
  totals: {
    users: number;
    instances: number;
    awake: number;
    paused: number;
    stopped: number;
    provisioning: number;
    memoryBytes: number;
  };
  instances: OverviewInstance[];
  users: { handle: string; role: 'user' | 'admin'; createdAt: string; instanceState: string | null }[];
}

/**
 * `GET /admin/overview` (mounted behind `requireAdmin`): everything the admin dashboard shows in
 * one answer. Engine stats of the instances that hold memory (running or paused) are gathered in
 * parallel, each bounded in time, and cached briefly so that a dashboard refreshing itself (or
 * several admins) does not keep the engine busy.
 */
export function adminOverviewRoute(deps: {
  orchestrator: Orchestrator;
  accounts: AccountStore;
  clock?: () => number;
}) {
  const { orchestrator, accounts } = deps;
  const clock = deps.clock ?? Date.now;
  const cache = new Map<string, { at: number; stats: Promise<InstanceStats | null> }>();

  function measure(engineId: string): Promise<InstanceStats | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), STATS_TIMEOUT_MS);
    });
    const stats = orchestrator.runtime.stats(engineId).catch(() => null);
    return Promise.race([stats, timeout]).finally(() => clearTimeout(timer));
  }

  /** Shared while in flight and for the TTL after: concurrent requests make one engine call. */
  function statsOf(engineId: string): Promise<InstanceStats | null> {
    const now = clock();
    const hit = cache.get(engineId);
    if (hit && now - hit.at < STATS_TTL_MS) return hit.stats;
    const stats = measure(engineId);
    cache.set(engineId, { at: now, stats });
    return stats;
  }

  return new Hono().get('/admin/overview', async (c) => {
    const instances = orchestrator.list();
    const users = accounts.listUsers();
    const awake = (i: InstanceView) => (i.state === 'running' || i.state === 'paused') && i.engineId;
    const live = new Set(instances.filter(awake).map((i) => i.engineId));
    for (const id of cache.keys()) if (!live.has(id)) cache.delete(id);
    const stats = await Promise.all(instances.map((i) => (awake(i) ? statsOf(i.engineId!) : null)));
    const owners = new Set(users.map((u) => u.handle));
    const stateOf = new Map(instances.map((i) => [i.handle, i.state]));
    const count = (state: InstanceView['state']) => instances.filter((i) => i.state === state).length;
    const body: Overview = {
      generatedAt: new Date(clock()).toISOString(),
      runtime: { kind: orchestrator.runtime.kind, isolated: orchestrator.runtime.isolated },
      totals: {
        users: users.length,
        instances: instances.length,
        awake: count('running'),
        paused: count('paused'),
        stopped: count('stopped'),
        provisioning: count('provisioning'),
        memoryBytes: stats.reduce((sum, s) => sum + (s?.memoryBytes ?? 0), 0),
      },
      instances: instances.map((i, n) => ({
        ...i,
        hasAccount: owners.has(i.handle),
        stats: stats[n] ?? null,
      })),
      users: users.map((u) => ({
        handle: u.handle,
        role: u.role,
        createdAt: new Date(u.createdAt).toISOString(),
        instanceState: stateOf.get(u.handle) ?? null,
      })),
    };
    c.header('Cache-Control', 'no-store');
    return c.json(body);
  });
}
