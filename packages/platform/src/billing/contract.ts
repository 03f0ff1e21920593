import { z } from 'zod';

/**
 * The billing routes' bodies (api/billingRoutes.ts), kept here so the OpenAPI document can
 * register them: `POST /me/billing/checkout`, `POST /me/billing/portal`, `GET /me/billing`,
 * `POST /webhooks/stripe`.
 */
export const checkoutRequest = z.strictObject({ plan: z.string().min(1).max(40) });
export const redirectResponse = z.object({ url: z.url() });
export const webhookResponse = z.object({ received: z.literal(true), duplicate: z.boolean() });

export const billingStatus = z.union([
  z.object({ enabled: z.literal(false) }),
  z.object({
    enabled: z.literal(true),
    plan: z.object({ id: z.string(), name: z.string(), monthlyUsd: z.number().nullable() }),
    /** The free tier's lifetime AI budget. */
    freeUsd: z.number(),
    /** Stripe's subscription status; null when never subscribed. */
    status: z.string().nullable(),
    periodEnd: z.iso.datetime().nullable(),
    cancelAtPeriodEnd: z.boolean(),
    graceUntil: z.iso.datetime().nullable(),
    /** Whether the customer portal can open (the user has been through Checkout). */
    hasCustomer: z.boolean(),
    nextInvoice: z
      .object({ amount: z.number(), currency: z.string(), at: z.iso.datetime().nullable() })
      .nullable(),
    /** Usage-based billing on: this month's AI spend above the plan reported to Stripe (dollars). */
    meteredUsd: z.number().nullable(),
    plans: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        monthlyUsd: z.number(),
        /** The instance's memory and CPU under the plan; null: the same as the free tier. */
        memoryBytes: z.number().nullable(),
        cpus: z.number().nullable(),
        priceLabel: z.string().nullable(),
      }),
    ),
    trialDays: z.number(),
  }),
]);

export type BillingStatus = Extract<z.infer<typeof billingStatus>, { enabled: true }>;
