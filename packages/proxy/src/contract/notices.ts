import { z } from 'zod';
import { budgetPeriod } from './refusals.ts';

/**
 * What the proxy POSTs to `BUDGET_WEBHOOK_URL` (the platform's `/internal/budget-notices`) when a
 * user's spend crosses 80% or 100% of a budget: amounts in dollars; `periodKey` names the period
 * (`total`, `2026-11-25`, `2026-11`), so a consumer can tell this month's notice from last month's.
 */
export const budgetNotice = z.object({
  handle: z.string().min(1).max(64),
  threshold: z.union([z.literal(80), z.literal(100)]),
  period: budgetPeriod,
  periodKey: z.string().regex(/^(total|\d{4}-\d{2}(-\d{2})?)$/),
  spent: z.number().nonnegative(),
  limit: z.number().nonnegative(),
});
export type BudgetNoticeMessage = z.infer<typeof budgetNotice>;
