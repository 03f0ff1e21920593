import { Hono } from 'hono';
import type { AccountStore } from '../accounts/accountStore.ts';
import type { InstanceView } from '../instances/toView.ts';
import type { Activity } from '../lifecycle/activity.ts';
import type { LlmUsage } from '../llm/proxyClient.ts';
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
  /** What its AI cost, in dollars, from the LLM proxy; null without a proxy or an answer from it. */
  aiSpend: { today: number; month: number; total: number } | null;
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
    /** Everyone's AI spend this month, in dollars; null when the proxy did not answer. */
    aiSpendMonth: number | null;
  };
  instances: OverviewInstance[];
  users: { handle: string; role: 'user' | 'admin'; createdAt: string; instanceState: string | null }[];
}

/**
 * `GET /admin/overview` (mounted behind `requireAdmin`): everything the admin dashboard shows in
 * one answer. Engine stats of the instances that hold memory (running or paused) are gathered in
 * one pass of the engine where the driver can (else in parallel, each bounded in time), and cached briefly so that a dashboard refreshing itself (or
 * several admins) does not keep the engine busy.
 */
export function adminOverviewRoute(deps: {
  orchestrator: Orchestrator;
  accounts: AccountStore;
  activity: Activity;
  llm?: LlmUsage;
  clock?: () => number;
}) {
  const { orchestrator, accounts, activity } = deps;
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

  let pass: { at: number; byId: Promise<Map<string, InstanceStats> | null> } | undefined;
  /** Every awake instance's figures in one pass of the engine (drivers that can), cached likewise. */
  function statsPass(): Promise<Map<string, InstanceStats> | null> {
    const statsAll = orchestrator.runtime.statsAll?.bind(orchestrator.runtime);
    if (!statsAll) return Promise.resolve(null);
    const now = clock();
    if (pass && now - pass.at < STATS_TTL_MS) return pass.byId;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), STATS_TIMEOUT_MS);
    });
    const byId = Promise.race([statsAll().catch(() => null), timeout]).finally(() => clearTimeout(timer));
    pass = { at: now, byId };
    return byId;
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

  let spend: { at: number; byHandle: Promise<Map<string, OverviewInstance['aiSpend']> | null> } | undefined;
  /** Cost per user from the proxy's summary, cached like the stats; null when it does not answer. */
  function aiSpend(): Promise<Map<string, OverviewInstance['aiSpend']> | null> {
    if (!deps.llm) return Promise.resolve(null);
    const now = clock();
    if (spend && now - spend.at < STATS_TTL_MS) return spend.byHandle;
    const byHandle = deps.llm.summary().then(
      (s) => new Map(s.users.map((u) => [u.handle, { today: u.today, month: u.month, total: u.total }])),
      () => null,
    );
    spend = { at: now, byHandle };
    return byHandle;
  }

  return new Hono().get('/admin/overview', async (c) => {
    // The database has last activity as of the last sweep; this process knows it to the request.
    const instances = orchestrator.list().map((i) => {
      const seen = activity.lastSeen(i.handle);
      return seen && seen > Date.parse(i.lastActiveAt)
        ? { ...i, lastActiveAt: new Date(seen).toISOString() }
        : i;
    });
    const users = accounts.listUsers();
    const awake = (i: InstanceView) => (i.state === 'running' || i.state === 'paused') && i.engineId;
    const live = new Set(instances.filter(awake).map((i) => i.engineId));
    for (const id of cache.keys()) if (!live.has(id)) cache.delete(id);
    const [byId, spent] = await Promise.all([statsPass(), aiSpend()]);
    const stats = byId
      ? instances.map((i) => (awake(i) ? (byId.get(i.engineId!) ?? null) : null))
      : await Promise.all(instances.map((i) => (awake(i) ? statsOf(i.engineId!) : null)));
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
        aiSpendMonth: spent ? [...spent.values()].reduce((sum, s) => sum + (s?.month ?? 0), 0) : null,
      },
      instances: instances.map((i, n) => ({
        ...i,
        hasAccount: owners.has(i.handle),
        stats: stats[n] ?? null,
        aiSpend: spent ? (spent.get(i.handle) ?? { today: 0, month: 0, total: 0 }) : null,
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
