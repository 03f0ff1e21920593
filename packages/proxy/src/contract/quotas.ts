import { z } from 'zod';

/** Dollars; null removes the limit; omitted keeps the current value. */
const limit = z.number().min(0).max(1_000_000).nullable().optional();

export const quotaBody = z
  .strictObject({ totalUsd: limit, dailyUsd: limit, monthlyUsd: limit })
  .refine((b) => Object.keys(b).length > 0, 'give at least one of totalUsd, dailyUsd, monthlyUsd');
export type QuotaBody = z.infer<typeof quotaBody>;

/** A user's limits in dollars; null is no limit. */
export const quota = z.object({
  handle: z.string(),
  totalUsd: z.number().nullable(),
  dailyUsd: z.number().nullable(),
  monthlyUsd: z.number().nullable(),
});
export type Quota = z.infer<typeof quota>;
