/** What the platform keeps of a user's billing: the plan it applies and the clocks around it. */
export interface PlanState {
  /** A paid plan's id, or `free`. */
  plan: string;
  graceUntil: number | null;
  endedAt: number | null;
}

/** A subscription as Stripe reports it now (never as an event described it some time ago). */
export interface SubscriptionSnapshot {
  status: string;
  /** The configured plan its price belongs to; null when the price is none of ours. */
  planId: string | null;
}

const PAYING = new Set(['active', 'trialing']);
/** Stripe keeps retrying the payment in these; the plan runs on until the grace period ends. */
const OWING = new Set(['past_due', 'unpaid']);

/**
 * The plan a subscription's current state gives. Paying (active, trialing): its plan, any grace
 * cleared. Owing after a failed payment (past_due, unpaid): the paid plan stays until the grace
 * period (counted from the first failure) ends, then free; a subscription whose very first
 * payment failed never was paid. Anything else (canceled, incomplete, paused, a price not in
 * our plans): free. `endedAt` marks when a paid plan stopped, for the retention rule.
 */
export function settlePlan(
  prev: PlanState,
  sub: SubscriptionSnapshot,
  now: number,
  graceMs: number,
): PlanState {
  const wasPaid = prev.plan !== 'free';
  const free: PlanState = { plan: 'free', graceUntil: null, endedAt: wasPaid ? now : prev.endedAt };
  if (sub.planId === null) return free;
  if (PAYING.has(sub.status)) return { plan: sub.planId, graceUntil: null, endedAt: null };
  if (OWING.has(sub.status) && wasPaid) {
    const graceUntil = prev.graceUntil ?? now + graceMs;
    return now >= graceUntil ? free : { plan: prev.plan, graceUntil, endedAt: null };
  }
  return free;
}

/**
 * What time alone changes, without any event: a grace period that ran out, or a subscription
 * set to cancel whose period is over (in case Stripe's `deleted` event never arrives).
 */
export function expirePlan(
  prev: PlanState & { periodEnd: number | null; cancelAtPeriodEnd: boolean },
  now: number,
): PlanState | null {
  if (prev.plan === 'free') return null;
  const graceOver = prev.graceUntil !== null && now >= prev.graceUntil;
  const periodOver = prev.cancelAtPeriodEnd && prev.periodEnd !== null && now >= prev.periodEnd;
  if (!graceOver && !periodOver) return null;
  return { plan: 'free', graceUntil: null, endedAt: now };
}
