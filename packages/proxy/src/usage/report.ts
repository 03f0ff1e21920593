import { and, count, desc, eq, gte, inArray, max, sql, sum } from 'drizzle-orm';
import type { Balance, Ledger } from '../budget/Ledger.ts';
import { dayAndMonth } from '../budget/periods.ts';
import type { Db } from '../db/openDb.ts';
import { instanceKeys, requests, spend } from '../db/schema.ts';
import type { KeyStore } from '../keys/KeyStore.ts';
import { formatUsd, microsToUsd, usdToMicros } from '../pricing/money.ts';

const RECENT = 20;
const DAILY_DAYS = 30;

function budgetView(b: Balance) {
  const remaining =
    b.limitMicros === null ? null : Math.max(0, b.limitMicros - b.spentMicros - b.reservedMicros);
  return {
    period: b.key,
    spent: microsToUsd(b.spentMicros),
    held: microsToUsd(b.reservedMicros),
    limit: b.limitMicros === null ? null : microsToUsd(b.limitMicros),
    remaining: remaining === null ? null : microsToUsd(remaining),
  };
}

/**
 * One user's usage, in dollars: the three budgets (platform key spend; `held` is what requests in
 * flight may still cost), what remains of the tightest, spend per model and per day, and the
 * latest requests. Requests on the user's own key are listed but count against no budget.
 */
export function usageReport(db: Db, ledger: Ledger, keys: KeyStore, handle: string, now: number) {
  const [total, today, month] = ledger.balances(handle).map(budgetView) as [
    ReturnType<typeof budgetView>,
    ReturnType<typeof budgetView>,
    ReturnType<typeof budgetView>,
  ];
  const limited = [total, today, month].flatMap((b) => (b.remaining === null ? [] : [b.remaining]));
  const remaining = limited.length > 0 ? Math.min(...limited) : null;

  const byModel = db
    .select({
      model: requests.model,
      keySource: requests.keySource,
      requests: count(),
      inputTokens: sum(requests.inputTokens).mapWith(Number),
      outputTokens: sum(requests.outputTokens).mapWith(Number),
      cacheWrite5mTokens: sum(requests.cacheWrite5mTokens).mapWith(Number),
      cacheWrite1hTokens: sum(requests.cacheWrite1hTokens).mapWith(Number),
      cacheReadTokens: sum(requests.cacheReadTokens).mapWith(Number),
      costMicros: sum(requests.costMicros).mapWith(Number),
    })
    .from(requests)
    .where(and(eq(requests.handle, handle), eq(requests.state, 'settled')))
    .groupBy(requests.model, requests.keySource)
    .orderBy(desc(sum(requests.costMicros)))
    .all()
    .map(({ costMicros, ...row }) => ({ ...row, cost: microsToUsd(costMicros) }));

  const since = dayAndMonth(now - (DAILY_DAYS - 1) * 86_400_000).day;
  const daily = db
    .select({ day: requests.day, requests: count(), costMicros: sum(requests.costMicros).mapWith(Number) })
    .from(requests)
    .where(and(eq(requests.handle, handle), eq(requests.keySource, 'platform'), gte(requests.day, since)))
    .groupBy(requests.day)
    .orderBy(requests.day)
    .all()
    .map(({ costMicros, ...row }) => ({ ...row, cost: microsToUsd(costMicros) }));

  const recent = db
    .select()
    .from(requests)
    .where(eq(requests.handle, handle))
    .orderBy(desc(requests.startedAt))
    .limit(RECENT)
    .all()
    .map((r) => ({
      id: r.id,
      at: new Date(r.startedAt).toISOString(),
      model: r.model,
      keySource: r.keySource,
      stream: r.stream,
      state: r.state,
      outcome: r.outcome,
      usageSource: r.usageSource,
      upstreamStatus: r.upstreamStatus,
      inputTokens: r.inputTokens,
      outputTokens: r.outputTokens,
      cacheWrite5mTokens: r.cacheWrite5mTokens,
      cacheWrite1hTokens: r.cacheWrite1hTokens,
      cacheReadTokens: r.cacheReadTokens,
      cost: microsToUsd(r.costMicros),
      held: r.state === 'in_flight' ? microsToUsd(r.reservedMicros) : 0,
    }));

  return {
    handle,
    currency: 'USD',
    today,
    month,
    total,
    /** What the tightest budget still allows; null when no budget limits this user. */
    remaining,
    remainingText: remaining === null ? null : formatUsd(usdToMicros(remaining)),
    inFlight: ledger.inFlight(handle),
    ownKey: keys.ownKeyInfo(handle),
    byModel,
    daily,
    recent,
  };
}

/** Every registered or spending user's platform-key spend today, this month and in total. */
export function usageSummary(db: Db, now: number) {
  const { day, month } = dayAndMonth(now);
  const periods = ['total', `day:${day}`, `month:${month}`];
  const rows = db.select().from(spend).where(inArray(spend.period, periods)).all();
  const activity = db
    .select({
      handle: requests.handle,
      requests: count(),
      lastRequestAt: max(requests.startedAt),
      inFlight: sum(sql<number>`${requests.state} = 'in_flight'`).mapWith(Number),
      held: sum(
        sql<number>`case when ${requests.state} = 'in_flight' then ${requests.reservedMicros} else 0 end`,
      ).mapWith(Number),
    })
    .from(requests)
    .groupBy(requests.handle)
    .all();
  const registered = db.select({ handle: instanceKeys.handle }).from(instanceKeys).all();

  const users = new Map<string, { today: number; month: number; total: number; held: number }>();
  const user = (h: string) => {
    const u = users.get(h) ?? { today: 0, month: 0, total: 0, held: 0 };
    users.set(h, u);
    return u;
  };
  for (const r of registered) user(r.handle);
  for (const r of rows) {
    const u = user(r.handle);
    if (r.period === 'total') u.total = r.spentMicros;
    else if (r.period.startsWith('day:')) u.today = r.spentMicros;
    else u.month = r.spentMicros;
  }
  const act = new Map(activity.map((a) => [a.handle, a]));
  for (const a of activity) user(a.handle).held = a.held;
  const list = [...users.entries()]
    .map(([handle, u]) => ({
      handle,
      today: microsToUsd(u.today),
      month: microsToUsd(u.month),
      total: microsToUsd(u.total),
      held: microsToUsd(u.held),
      requests: act.get(handle)?.requests ?? 0,
      inFlight: act.get(handle)?.inFlight ?? 0,
      lastRequestAt: act.get(handle)?.lastRequestAt
        ? new Date(act.get(handle)!.lastRequestAt!).toISOString()
        : null,
      registered: registered.some((r) => r.handle === handle),
    }))
    .sort((a, b) => b.month - a.month || a.handle.localeCompare(b.handle));
  const add = (k: 'today' | 'month' | 'total') =>
    microsToUsd([...users.values()].reduce((s, u) => s + u[k], 0));
  return {
    currency: 'USD',
    day,
    month,
    totals: { today: add('today'), month: add('month'), total: add('total') },
    users: list,
  };
}
