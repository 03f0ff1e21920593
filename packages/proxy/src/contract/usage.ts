import { z } from 'zod';
import { ownKeyInfo } from './keys.ts';

const usd = z.number();
const tokens = z.number().int().nonnegative();

/** One budget period: dollars spent, held by requests in flight, the limit and what remains (null: no limit). */
export const budgetView = z.object({
  period: z.string(),
  spent: usd,
  held: usd,
  limit: usd.nullable(),
  remaining: usd.nullable(),
});
export type BudgetView = z.infer<typeof budgetView>;

export const usageByModel = z.object({
  model: z.string(),
  keySource: z.enum(['platform', 'own']),
  requests: z.number().int(),
  inputTokens: tokens,
  outputTokens: tokens,
  cacheWrite5mTokens: tokens,
  cacheWrite1hTokens: tokens,
  cacheReadTokens: tokens,
  cost: usd,
});

export const usageDay = z.object({ day: z.string(), requests: z.number().int(), cost: usd });

export const usageRequest = z.object({
  id: z.number().int(),
  at: z.string(),
  model: z.string(),
  keySource: z.enum(['platform', 'own']),
  stream: z.boolean(),
  state: z.enum(['in_flight', 'settled', 'interrupted']),
  outcome: z
    .enum([
      'ok',
      'upstream_error',
      'stream_error',
      'client_disconnect',
      'upstream_unreachable',
      'interrupted',
    ])
    .nullable(),
  usageSource: z.enum(['reported', 'partial', 'estimated', 'none']).nullable(),
  upstreamStatus: z.number().int().nullable(),
  inputTokens: tokens,
  outputTokens: tokens,
  cacheWrite5mTokens: tokens,
  cacheWrite1hTokens: tokens,
  cacheReadTokens: tokens,
  cost: usd,
  held: usd,
});

/** `GET /usage/{handle}`: one user's budgets and spend, in dollars. */
export const usageReport = z.object({
  handle: z.string(),
  currency: z.literal('USD'),
  today: budgetView,
  month: budgetView,
  total: budgetView,
  /** What the tightest budget still allows; null when no budget limits this user. */
  remaining: usd.nullable(),
  /** `remaining` as a person reads it (`formatUsd`: `$4.98`, `<$0.01`); null with no limit. */
  remainingText: z.string().nullable(),
  inFlight: z.number().int().nonnegative(),
  ownKey: ownKeyInfo,
  byModel: z.array(usageByModel),
  /** The last 30 days with spend on the platform's key. */
  daily: z.array(usageDay),
  recent: z.array(usageRequest),
});
export type UsageReport = z.infer<typeof usageReport>;

export const usageSummaryUser = z.object({
  handle: z.string(),
  today: usd,
  month: usd,
  total: usd,
  held: usd,
  requests: z.number().int(),
  inFlight: z.number().int(),
  lastRequestAt: z.string().nullable(),
  registered: z.boolean(),
});

/** `GET /usage/summary`: every user's platform-key spend today, this month and in total. */
export const usageSummary = z.object({
  currency: z.literal('USD'),
  day: z.string(),
  month: z.string(),
  totals: z.object({ today: usd, month: usd, total: usd }),
  users: z.array(usageSummaryUser),
});
export type UsageSummary = z.infer<typeof usageSummary>;

/** `GET /health`. */
export const proxyHealth = z.object({
  status: z.enum(['ok', 'degraded']),
  db: z.enum(['ok', 'error']),
  upstream: z.object({ url: z.string(), platformKey: z.boolean() }),
  adminApi: z.boolean(),
});
