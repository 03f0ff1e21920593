import { describe, expect, it } from 'vitest';
import { expirePlan, type PlanState, settlePlan } from './settlePlan.ts';

const NOW = 1_000_000;
const GRACE = 100;
const free: PlanState = { plan: 'free', graceUntil: null, endedAt: null };
const pro: PlanState = { plan: 'pro', graceUntil: null, endedAt: null };

describe('settlePlan', () => {
  const rows: [string, PlanState, string, string | null, PlanState][] = [
    ['checkout paid', free, 'active', 'pro', pro],
    ['a trial counts as paid', free, 'trialing', 'pro', pro],
    ['a plan change', pro, 'active', 'max', { plan: 'max', graceUntil: null, endedAt: null }],
    [
      'payment failed: grace starts',
      pro,
      'past_due',
      'pro',
      { plan: 'pro', graceUntil: NOW + GRACE, endedAt: null },
    ],
    [
      'a second failure keeps the first grace',
      { plan: 'pro', graceUntil: NOW + 5, endedAt: null },
      'unpaid',
      'pro',
      { plan: 'pro', graceUntil: NOW + 5, endedAt: null },
    ],
    [
      'grace over: free',
      { plan: 'pro', graceUntil: NOW, endedAt: null },
      'past_due',
      'pro',
      { plan: 'free', graceUntil: null, endedAt: NOW },
    ],
    ['paid again during grace', { plan: 'pro', graceUntil: NOW + 5, endedAt: null }, 'active', 'pro', pro],
    ['first payment failed: never paid', free, 'past_due', 'pro', free],
    ['canceled: free, ended now', pro, 'canceled', 'pro', { plan: 'free', graceUntil: null, endedAt: NOW }],
    [
      'canceled while free keeps the old end',
      { ...free, endedAt: 5 },
      'canceled',
      'pro',
      { ...free, endedAt: 5 },
    ],
    ['incomplete checkout', free, 'incomplete', 'pro', free],
    ['paused', pro, 'paused', 'pro', { plan: 'free', graceUntil: null, endedAt: NOW }],
    ['a price not in our plans', pro, 'active', null, { plan: 'free', graceUntil: null, endedAt: NOW }],
  ];
  it.each(rows)('%s', (_name, prev, status, planId, next) => {
    expect(settlePlan(prev, { status, planId }, NOW, GRACE)).toEqual(next);
  });
});

describe('expirePlan', () => {
  const base = { ...pro, periodEnd: null, cancelAtPeriodEnd: false };
  const rows: [string, Parameters<typeof expirePlan>[0], PlanState | null][] = [
    ['nothing due', base, null],
    ['free stays free', { ...base, plan: 'free', graceUntil: 1 }, null],
    ['grace running', { ...base, graceUntil: NOW + 1 }, null],
    ['grace over', { ...base, graceUntil: NOW }, { plan: 'free', graceUntil: null, endedAt: NOW }],
    ['period over, not cancelling: renews', { ...base, periodEnd: NOW - 1 }, null],
    ['cancelling, period running', { ...base, periodEnd: NOW + 1, cancelAtPeriodEnd: true }, null],
    [
      'cancelling, period over',
      { ...base, periodEnd: NOW, cancelAtPeriodEnd: true },
      { plan: 'free', graceUntil: null, endedAt: NOW },
    ],
  ];
  it.each(rows)('%s', (_name, prev, next) => {
    expect(expirePlan(prev, NOW)).toEqual(next);
  });
});
