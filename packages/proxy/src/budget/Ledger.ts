import { and, count, eq, or, sql } from 'drizzle-orm';
import type { RefusalCode } from '../contract/refusals.ts';
import type { Db } from '../db/openDb.ts';
import {
  budgetNotices,
  type KeySource,
  type Outcome,
  quotas,
  type RequestRow,
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

/** A request the ledger would not take, with the code the caller gets (`@matrixos/proxy/contract`). */
export interface Refusal {
  ok: false;
  code: Extract<RefusalCode, 'too_many_in_flight' | 'budget_exhausted' | 'server_tool_in_flight'>;
  message: string;
  period?: PeriodKind;
}

export type Hold = { ok: true; id: number } | Refusal;

/** Admitted, with the `max_tokens` the budget covers (lower than asked when little is left). */
export type Reservation = { ok: true; maxTokens: number; reservedMicros: number } | Refusal;

export type Admission = { ok: true; id: number; maxTokens: number } | Refusal;

export interface ReserveInput {
  model: string;
  stream: boolean;
  serverTools: boolean;
  /** What the request asked for. */
  maxTokens: number;
  /** The fewest output tokens still worth sending upstream when the budget is short. */
  minTokens: number;
  /** The most the request can cost with a given `max_tokens`, in micro-dollars (non-decreasing). */
  costOf: (maxTokens: number) => number;
}

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
        serverTools: sql<number>`coalesce(sum(${requests.serverTools}), 0)`,
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
    hold: db
      .insert(requests)
      .values({
        handle: $('handle'),
        model: '',
        keySource: $('keySource'),
        stream: false,
        state: 'in_flight',
        reservedMicros: 0,
        startedAt: $('startedAt'),
        day: $('day'),
        month: $('month'),
      })
      .prepare(),
    held: db
      .select()
      .from(requests)
      .where(and(eq(requests.id, $('id')), inFlight))
      .prepare(),
    reserve: db
      .update(requests)
      .set({
        model: sql`${$('model')}`,
        stream: sql`${$('stream')}`,
        serverTools: sql`${$('serverTools')}`,
        reservedMicros: sql`${$('reservedMicros')}`,
      })
      .where(and(eq(requests.id, $('id')), inFlight))
      .prepare(),
    drop: db
      .delete(requests)
      .where(and(eq(requests.id, $('id')), inFlight))
      .prepare(),
    record: db
      .update(requests)
      .set({
        inputTokens: sql`${$('inputTokens')}`,
        outputTokens: sql`${$('outputTokens')}`,
        cacheWrite5mTokens: sql`${$('cacheWrite5mTokens')}`,
        cacheWrite1hTokens: sql`${$('cacheWrite1hTokens')}`,
        cacheReadTokens: sql`${$('cacheReadTokens')}`,
        webSearchRequests: sql`${$('webSearchRequests')}`,
      })
      .where(and(eq(requests.id, $('id')), inFlight))
      .prepare(),
    settle: db
      .update(requests)
      .set({
        state: sql`${$('state')}`,
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
  function balancesOf(
    handle: string,
    day: string,
    month: string,
  ): { balances: Balance[]; inFlight: number; serverTools: number } {
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
    return { balances, inFlight: held.count, serverTools: held.serverTools };
  }

  const refuseBudget = (b: Balance, needMicros: number): Refusal => ({
    ok: false,
    code: 'budget_exhausted',
    period: b.kind,
    message:
      `${budgetName[b.kind]} of ${formatUsd(b.limitMicros ?? 0)} reached: ${formatUsd(b.spentMicros)} spent` +
      (b.reservedMicros > 0 ? `, ${formatUsd(b.reservedMicros)} held by requests in flight` : '') +
      (needMicros > 0
        ? `, and even a short answer to this request may cost up to ${formatUsd(needMicros)}`
        : ''),
  });

  /** The tightest limited budget and what it leaves, or null when none limits the handle. */
  function tightest(balances: Balance[]): { balance: Balance; leftMicros: number } | null {
    let best: { balance: Balance; leftMicros: number } | null = null;
    for (const b of balances) {
      if (b.limitMicros === null) continue;
      const leftMicros = b.limitMicros - b.spentMicros - b.reservedMicros;
      if (!best || leftMicros < best.leftMicros) best = { balance: b, leftMicros };
    }
    return best;
  }

  /** The largest `max_tokens` in [min, max] whose cost fits in `left`, or null (cost is non-decreasing). */
  function largestFitting(
    costOf: (t: number) => number,
    min: number,
    max: number,
    left: number,
  ): number | null {
    if (costOf(max) <= left) return max;
    if (costOf(min) > left) return null;
    let lo = min;
    let hi = max;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (costOf(mid) <= left) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /** Records a settlement (the request's state becomes `state`) and spends its cost; the notices it triggers. */
  function settleRow(id: number, s: Settlement, state: 'settled' | 'interrupted'): BudgetNotice[] {
    const at = now();
    const row = q.settle.get({
      id,
      state,
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
     * The first half of admission, before the request's body is read: takes one of the handle's
     * in-flight slots and, on the platform's key, refuses at once when a budget has nothing left.
     * The slot holds nothing yet; `reserve` sets what it holds once the body is known, `drop`
     * gives it back when the body never comes.
     */
    hold: immediate((input: { handle: string; keySource: KeySource }): Hold => {
      const startedAt = now();
      const { day, month } = dayAndMonth(startedAt);
      const { balances, inFlight } = balancesOf(input.handle, day, month);
      if (inFlight >= maxInFlight) {
        return {
          ok: false,
          code: 'too_many_in_flight',
          message: `too many requests in flight: at most ${maxInFlight} at a time per instance`,
        };
      }
      const tight = input.keySource === 'platform' ? tightest(balances) : null;
      if (tight && tight.leftMicros <= 0) return refuseBudget(tight.balance, 0);
      const { lastInsertRowid } = q.hold.run({ ...input, startedAt, day, month });
      return { ok: true, id: Number(lastInsertRowid) };
    }),

    /**
     * The second half: on the platform's key, the request's worst-case cost on top of what is
     * spent and held must stay within every budget. When it does not, `max_tokens` is lowered to
     * what the tightest budget still covers (down to `minTokens`), so that the last cents buy a
     * short answer instead of a refusal. A request with server tools waits for no other: it is
     * refused while another of the handle's is in flight, which bounds what their estimates can
     * miss to one request's worth. A refused request gives its slot back.
     */
    reserve: immediate((id: number, input: ReserveInput): Reservation => {
      const row = q.held.get({ id });
      if (!row) throw new Error(`request ${id} holds no slot`);
      const { balances, serverTools } = balancesOf(row.handle, row.day, row.month);
      const refuse = (r: Refusal): Refusal => {
        q.drop.run({ id });
        return r;
      };
      if (input.serverTools && serverTools > 0) {
        return refuse({
          ok: false,
          code: 'server_tool_in_flight',
          message:
            'another request of this instance that uses server tools (web search, web fetch) is in flight: one at a time',
        });
      }
      let maxTokens = input.maxTokens;
      let reservedMicros = 0;
      if (row.keySource === 'platform') {
        const tight = tightest(balances);
        const minTokens = Math.min(input.minTokens, input.maxTokens);
        if (tight) {
          const fits = largestFitting(input.costOf, minTokens, input.maxTokens, tight.leftMicros);
          if (fits === null) return refuse(refuseBudget(tight.balance, input.costOf(minTokens)));
          maxTokens = fits;
        }
        reservedMicros = input.costOf(maxTokens);
      }
      q.reserve.run({
        id,
        model: input.model,
        stream: input.stream ? 1 : 0,
        serverTools: input.serverTools ? 1 : 0,
        reservedMicros,
      });
      return { ok: true, maxTokens, reservedMicros };
    }),

    /** Gives back a slot taken by `hold` for a request that never went upstream. */
    drop: (id: number): void => {
      q.drop.run({ id });
    },

    /** `hold` and `reserve` in one, for a request whose body is already known. */
    admit(input: { handle: string; keySource: KeySource } & ReserveInput): Admission {
      const hold = this.hold({ handle: input.handle, keySource: input.keySource });
      if (!hold.ok) return hold;
      const r = this.reserve(hold.id, input);
      return r.ok ? { ok: true, id: hold.id, maxTokens: r.maxTokens } : r;
    },

    /**
     * What the upstream has reported so far for a request in flight (input and cache counts from
     * `message_start`, output as it streams), kept on its row: a process that dies mid-stream
     * bills this at the next start instead of nothing.
     */
    record: (id: number, usage: TokenUsage): void => {
      q.record.run({ id, ...usage });
    },

    /**
     * Records a request's real usage and cost in place of its reservation, which frees its slot.
     * Only the first settlement of a request counts. Returns the budget thresholds it crossed first.
     */
    settle: immediate((id: number, s: Settlement): BudgetNotice[] => settleRow(id, s, 'settled')),

    /**
     * At startup: requests still `in_flight` were cut off when the last process died. Each is
     * marked `interrupted` and billed what its row recorded of the upstream's usage (`costOf`
     * prices it), which also releases its reservation. Returns how many, and the notices.
     */
    settleInterrupted: immediate(
      (
        costOf: (row: RequestRow, usage: TokenUsage) => number,
      ): { count: number; notices: BudgetNotice[] } => {
        const rows = db.select().from(requests).where(inFlight).all();
        const notices: BudgetNotice[] = [];
        for (const r of rows) {
          const usage: TokenUsage = {
            inputTokens: r.inputTokens,
            outputTokens: r.outputTokens,
            cacheWrite5mTokens: r.cacheWrite5mTokens,
            cacheWrite1hTokens: r.cacheWrite1hTokens,
            cacheReadTokens: r.cacheReadTokens,
            webSearchRequests: r.webSearchRequests,
          };
          const recorded = Object.values(usage).some((v) => v > 0);
          notices.push(
            ...settleRow(
              r.id,
              {
                outcome: 'interrupted',
                usageSource: recorded ? 'partial' : 'none',
                usage,
                costMicros: recorded ? costOf(r, usage) : 0,
                upstreamStatus: r.upstreamStatus,
                upstreamRequestId: r.upstreamRequestId,
              },
              'interrupted',
            ),
          );
        }
        return { count: rows.length, notices };
      },
    ),
  };
}
