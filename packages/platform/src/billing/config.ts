import { duration, parseBytes } from '@matrixos/shared';
import { z } from 'zod';

/**
 * A paid plan: what a Stripe price buys. Each account has one instance; a plan sets its AI budget
 * and, optionally, the instance's memory and CPU (the free tier has INSTANCE_MEMORY/INSTANCE_CPUS).
 */
export const planSchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'plan ids are lower-case letters, digits, hyphens'),
  name: z.string().min(1).max(60),
  /** The Stripe price (recurring, monthly) Checkout sells. */
  priceId: z.string().min(3),
  /** The AI budget per calendar month (UTC) in dollars, set in the LLM proxy while the plan runs. */
  monthlyUsd: z.number().positive().max(1_000_000),
  /** The instance's memory limit under this plan, like INSTANCE_MEMORY (e.g. "1g"). */
  memory: z
    .string()
    .transform((v, ctx) => {
      const n = parseBytes(v);
      if (n === null || n < 64 * 1024 * 1024) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a size of at least 64m, like 512m or 2g (got "${v}")`,
        });
        return z.NEVER;
      }
      return n;
    })
    .optional(),
  /** The instance's CPU under this plan, in cores, like INSTANCE_CPUS (e.g. 2). */
  cpus: z.number().positive().max(64).optional(),
  /** What the dashboard shows as the price, e.g. "$20 / month" (Stripe holds the real price). */
  priceLabel: z.string().max(60).optional(),
});

export type Plan = z.infer<typeof planSchema>;

const plans = z
  .string()
  .transform((v, ctx) => {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected a JSON array of plans' });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .array(planSchema)
      .min(1)
      .refine((a) => new Set(a.map((p) => p.id)).size === a.length, 'plan ids must differ')
      .refine((a) => a.every((p) => p.id !== 'free'), '"free" is the free tier, not a paid plan'),
  );

/** Billing's settings, spread at the end of the platform's config schema. */
export const billingSettings = {
  STRIPE_SECRET_KEY: z.string().min(8).optional(),
  STRIPE_WEBHOOK_SECRET: z.string().min(8).optional(),
  /** Where the Stripe API is (tests: stripe-mock, `http://127.0.0.1:12111`); unset: api.stripe.com. */
  STRIPE_API_URL: z.url().optional(),
  BILLING_PLANS: plans.optional(),
  /** The free tier's lifetime AI budget, put back when a paid plan ends (the proxy's FREE_TIER_USD). */
  BILLING_FREE_USD: z.coerce.number().min(0).max(1_000_000).default(5),
  /** How long a paid plan keeps running after a failed payment before it falls back to free. */
  BILLING_GRACE: duration('7d'),
  /** Free days Checkout gives before the first charge; 0 = no trial (the free tier is the trial). */
  BILLING_TRIAL_DAYS: z.coerce.number().int().min(0).max(730).default(0),
  /**
   * Usage-based billing: the Stripe meter's event name; AI spend above the plan's monthly budget
   * is reported to it in cents. Unset: a paid user is stopped at the plan's budget.
   */
  BILLING_METER_EVENT: z.string().min(1).max(100).optional(),
  /** With a meter: how far past the plan's budget (dollars per month) a user may spend. */
  BILLING_OVERAGE_CAP_USD: z.coerce.number().min(0).max(1_000_000).default(100),
  /**
   * Data of users whose paid plan ended: `0` keeps it for good (they are free-tier users again);
   * a duration deletes their instance and its data that long after the plan ended.
   */
  BILLING_RETENTION: duration('0'),
  /** How long before such a deletion the user is told (inbox notice in their instance). */
  BILLING_RETENTION_NOTICE: duration('14d'),
  /** How often grace periods, period ends, retention and metered usage are checked. */
  BILLING_SWEEP_INTERVAL: duration('10m'),
};

const settingsObject = z.object(billingSettings);
type Settings = z.output<typeof settingsObject>;

export type BillingConfig = NonNullable<ReturnType<typeof billingConfig>>;

/** Billing is on only when Stripe and at least one plan are configured; null otherwise. */
export function billingConfig(c: Settings) {
  if (!c.STRIPE_SECRET_KEY || !c.STRIPE_WEBHOOK_SECRET || !c.BILLING_PLANS) return null;
  const api = c.STRIPE_API_URL ? new URL(c.STRIPE_API_URL) : null;
  return {
    secretKey: c.STRIPE_SECRET_KEY,
    webhookSecret: c.STRIPE_WEBHOOK_SECRET,
    api: api
      ? {
          host: api.hostname,
          port: Number(api.port || (api.protocol === 'https:' ? 443 : 80)),
          protocol: api.protocol === 'https:' ? ('https' as const) : ('http' as const),
        }
      : null,
    plans: c.BILLING_PLANS,
    freeUsd: c.BILLING_FREE_USD,
    graceMs: c.BILLING_GRACE,
    trialDays: c.BILLING_TRIAL_DAYS,
    meterEvent: c.BILLING_METER_EVENT ?? null,
    overageCapUsd: c.BILLING_OVERAGE_CAP_USD,
    retentionMs: c.BILLING_RETENTION,
    retentionNoticeMs: c.BILLING_RETENTION_NOTICE,
    sweepIntervalMs: c.BILLING_SWEEP_INTERVAL,
  };
}
