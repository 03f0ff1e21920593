import { and, count, eq, or, sql } from 'drizzle-orm';
import type { Db } from '../db/openDb.ts';
import {
  budgetNotices,
  type KeySource,
  type Outcome,
  quotas,
  requests,
  spend,
  type UsageSource,
} from '../db/schema.ts';
import type { TokenUsage } from '../pricing/cost.ts';
import { formatUsd } from '../pricing/money.ts';
import { dayAndMonth, type Period, type PeriodKind, periodsOf } from './periods.ts';

/** Budgets in micro-dollars; null is no limit. `total` is the lifetime allowance (the free tier). */
export interface Limits {
  totalMicros: number | null;
  dailyMicros: number | null;
  monthlyMicros: number | null;
}

export interface Balance extends Period {
  spentMicros: number;
  reservedMicros: number;
  limitMicros: number | null;
}

export type Admission =
  | { ok: true; id: number }
  | { ok: false; reason: 'in_flight' | 'budget'; message: string; period?: PeriodKind };

export interface Settlement {
  outcome: Outcome;
  usageSource: UsageSource;
  usage: TokenUsage;
  costMicros: number;
  upstreamStatus: number | null;
  upstreamRequestId: string | null;
}

/** A budget threshold crossed for the first time in its period. */
export interface BudgetNotice {
  handle: string;
  threshold: 80 | 100;
  period: PeriodKind;
  periodKey: string;
  spentMicros: number;
  limitMicros: number;
}

export interface LedgerOptions {
  db: Db;
  defaults: Limits;
  maxInFlight: number;
  now?: () => number;
}

const THRESHOLDS = [80, 100] as const;

const limitOf = (limits: Limits, kind: PeriodKind) =>
  kind === 'total' ? limits.totalMicros : kind === 'day' ? limits.dailyMicros : limits.monthlyMicros;

const budgetName = { total: 'budget', day: 'daily budget', month: 'monthly budget' } as const;

export type Ledger = ReturnType<typeof createLedger>;

/**
 * The money side of the proxy. Every admission and settlement is one SQLite transaction taken
 * with BEGIN IMMEDIATE (the write lock before the first read), so the check "spent + held + this
 * request stays within the limit" cannot interleave with another request's admission. What is
 * held is the sum of the reservations of the handle's requests in flight (at most a few rows).
 */
export function createLedger({ db, defaults, maxInFlight, now = Date.now }: LedgerOptions) {
  // The hot path runs on statements prepared once: preparing them per call cost more than running them.
  const $ = sql.placeholder;
  // A literal, not a bound value: SQLite recompiles a statement on every run when a bound value
  // decides whether the partial index `requests_in_flight` applies.
  const inFlight = sql`${requests.state} = 'in_flight'`;
  const inFlightRows = and(eq(requests.handle, $('handle')), inFlight);
  const heldIn = (column: typeof requests.day | typeof requests.month, name: string) =>
    sql<number>`coalesce(sum(case when ${column} = ${$(name)} then ${requests.reservedMicros} end), 0)`;
  const q = {
    quota: db
      .select()
      .from(quotas)
      .where(eq(quotas.handle, $('handle')))
      .prepare(),
    spent: db
      .select()
      .from(spend)
      .where(
        and(
          eq(spend.handle, $('handle')),
          or(eq(spend.period, $('p0')), eq(spend.period, $('p1')), eq(spend.period, $('p2'))),
        ),
      )
      .prepare(),
    inFlight: db
      .select({
        count: count(),
        total: sql<number>`coalesce(sum(${requests.reservedMicros}), 0)`,
        day: heldIn(requests.day, 'day'),
        month: heldIn(requests.month, 'month'),
      })
      .from(requests)
      .where(inFlightRows)
      .prepare(),
    addSpent: db
      .insert(spend)
      .values({ handle: $('handle'), period: $('period'), spentMicros: $('spent') })
      .onConflictDoUpdate({
        target: [spend.handle, spend.period],
        set: { spentMicros: sql`${spend.spentMicros} + excluded.spent_micros` },
      })
      .returning({ spentMicros: spend.spentMicros })
      .prepare(),
    admit: db
      .insert(requests)
      .values({
        handle: $('handle'),
        model: $('model'),
        keySource: $('keySource'),
        stream: $('stream'),
        state: 'in_flight',
        reservedMicros: $('reservedMicros'),
        startedAt: $('startedAt'),
        day: $('day'),
        month: $('month'),
      })
      .prepare(),
    settle: db
      .update(requests)
      .set({
        state: 'settled',
        outcome: sql`${$('outcome')}`,
        usageSource: sql`${$('usageSource')}`,
        costMicros: sql`${$('costMicros')}`,
        inputTokens: sql`${$('inputTokens')}`,
        outputTokens: sql`${$('outputTokens')}`,
        cacheWrite5mTokens: sql`${$('cacheWrite5mTokens')}`,
        cacheWrite1hTokens: sql`${$('cacheWrite1hTokens')}`,
        cacheReadTokens: sql`${$('cacheReadTokens')}`,
        webSearchRequests: sql`${$('webSearchRequests')}`,
        upstreamStatus: sql`${$('upstreamStatus')}`,
        upstreamRequestId: sql`${$('upstreamRequestId')}`,
        finishedAt: sql`${$('finishedAt')}`,
      })
      .where(and(eq(requests.id, $('id')), inFlight))
      .returning({
        handle: requests.handle,
        keySource: requests.keySource,
        day: requests.day,
        month: requests.month,
      })
      .prepare(),
    notice: db
      .insert(budgetNotices)
      .values({
        handle: $('handle'),
        period: $('period'),
        threshold: $('threshold'),
        limitMicros: $('limitMicros'),
        spentMicros: $('spentMicros'),
        createdAt: $('createdAt'),
      })
      .onConflictDoNothing()
      .prepare(),
  };

  function limitsOf(handle: string): Limits {
    const row = q.quota.get({ handle });
    if (!row) return { ...defaults };
    return { totalMicros: row.totalMicros, dailyMicros: row.dailyMicros, monthlyMicros: row.monthlyMicros };
  }

  /** The handle's periods with what is spent in each, what its requests in flight hold, and the limit. */
  function balancesOf(handle: string, day: string, month: string): { balances: Balance[]; inFlight: number } {
    const periods = periodsOf(day, month);
    const spent = q.spent.all({ handle, p0: periods[0]!.id, p1: periods[1]!.id, p2: periods[2]!.id });
    const held = q.inFlight.get({ handle, day, month })!;
    const limits = limitsOf(handle);
    const balances = periods.map((p) => ({
      ...p,
      spentMicros: spent.find((r) => r.period === p.id)?.spentMicros ?? 0,
      reservedMicros: held[p.kind],
      limitMicros: limitOf(limits, p.kind),
    }));
    return { balances, inFlight: held.count };
  }

  /** BEGIN IMMEDIATE on the driver's cached statements: the cheapest way to a write lock. */
  const immediate = <A extends unknown[], R>(fn: (...args: A) => R) => {
    const tx = db.$client.transaction(fn);
    return (...args: A): R => tx.immediate(...args);
  };

  return {
    limitsOf,

    /** Sets some of a handle's limits (the others keep their current values). */
    setLimits: immediate((handle: string, patch: Partial<Limits>): Limits => {
      const next = { ...limitsOf(handle), ...patch };
      db.insert(quotas)
        .values({ handle, ...next, updatedAt: now() })
        .onConflictDoUpdate({ target: quotas.handle, set: { ...next, updatedAt: now() } })
        .run();
      return next;
    }),

    /** The handle's budget periods as of now: spent, held by requests in flight, and limits. */
    balances(handle: string): Balance[] {
      const { day, month } = dayAndMonth(now());
      return balancesOf(handle, day, month).balances;
    },

    inFlight: (handle: string): number => q.inFlight.get({ handle, day: '', month: '' })!.count,

    /**
     * Admits a request when the handle has a free slot and, on the platform's key, when
     * `reserveMicros` on top of what is spent and held keeps every budget within its limit. The
     * request's row holds the reservation until it is settled.
     */
    admit: immediate(
      (input: {
        handle: string;
        model: string;
        keySource: KeySource;
        stream: boolean;
        reserveMicros: number;
      }): Admission => {
        const startedAt = now();
        const { day, month } = dayAndMonth(startedAt);
        const { balances, inFlight } = balancesOf(input.handle, day, month);
        if (inFlight >= maxInFlight) {
          return {
            ok: false,
            reason: 'in_flight',
            message: `too many requests in flight: at most ${maxInFlight} at a time per instance`,
          };
        }
        const reserve = input.keySource === 'platform' ? input.reserveMicros : 0;
        for (const b of input.keySource === 'platform' ? balances : []) {
          if (b.limitMicros === null || b.spentMicros + b.reservedMicros + reserve <= b.limitMicros) continue;
          return {
            ok: false,
            reason: 'budget',
            period: b.kind,
            message:
              `${budgetName[b.kind]} of ${formatUsd(b.limitMicros)} reached: ${formatUsd(b.spentMicros)} spent` +
              (b.reservedMicros > 0 ? `, ${formatUsd(b.reservedMicros)} held by requests in flight` : '') +
              `, and this request may cost up to ${formatUsd(reserve)}`,
          };
        }
        const { lastInsertRowid } = q.admit.run({ ...input, reservedMicros: reserve, startedAt, day, month });
        return { ok: true, id: Number(lastInsertRowid) };
      },
    ),

    /**
     * Records a request's real usage and cost in place of its reservation, which frees its slot.
     * Only the first settlement of a request counts. Returns the budget thresholds it crossed first.
     */
    settle: immediate((id: number, s: Settlement): BudgetNotice[] => {
      const at = now();
      const row = q.settle.get({
        id,
        outcome: s.outcome,
        usageSource: s.usageSource,
        costMicros: s.costMicros,
        ...s.usage,
        upstreamStatus: s.upstreamStatus,
        upstreamRequestId: s.upstreamRequestId,
        finishedAt: at,
      });
      if (row?.keySource !== 'platform' || s.costMicros === 0) return [];
      const limits = limitsOf(row.handle);
      const notices: BudgetNotice[] = [];
      for (const p of periodsOf(row.day, row.month)) {
        const spentMicros = q.addSpent.get({
          handle: row.handle,
          period: p.id,
          spent: s.costMicros,
        })!.spentMicros;
        const limitMicros = limitOf(limits, p.kind);
        if (limitMicros === null || limitMicros === 0) continue;
        for (const threshold of THRESHOLDS) {
          if (spentMicros * 100 < limitMicros * threshold) continue;
          const fresh = q.notice.run({
            handle: row.handle,
            period: p.id,
            threshold,
            limitMicros,
            spentMicros,
            createdAt: at,
          });
          if (fresh.changes > 0) {
            notices.push({
              handle: row.handle,
              threshold,
              period: p.kind,
              periodKey: p.key,
              spentMicros,
              limitMicros,
            });
          }
        }
      }
      return notices;
    }),

    /**
     * At startup: requests still `in_flight` were cut off when the last process died. They are
     * marked `interrupted`, which releases what they held (the proxy cannot know what they cost).
     */
    releaseInterrupted: immediate(
      (): number =>
        db
          .update(requests)
          .set({ state: 'interrupted', outcome: 'interrupted', usageSource: 'none', finishedAt: now() })
          .where(inFlight)
          .run().changes,
    ),
  };
}
