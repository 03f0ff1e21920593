import Stripe from 'stripe';
import type { TestPlatform } from './harness.ts';

/** The paid plan the billing tests sell: $50 of AI a month, a 1 GiB / 2-CPU instance. */
export const PRO_PLAN = {
  id: 'pro',
  name: 'Pro',
  priceId: 'price_pro',
  monthlyUsd: 50,
  priceLabel: '$20 / month',
  memory: '1g',
  cpus: 2,
};

// Only for its webhook test helpers (signing payloads as Stripe does); it calls nothing.
const signer = new Stripe('sk_test_123');

/**
 * Stripe webhook deliveries to a test platform, as Stripe makes them: events in the API's JSON
 * shape, signed with the library's own test helper. A user's customer and subscription ids are
 * `cus_{handle}` and `sub_{handle}`.
 */
export function stripeEvents(t: TestPlatform, secret: string) {
  let seq = 0;
  const userId = (handle: string) => t.platform.accounts.userByHandle(handle)!.id;

  function event(type: string, object: Record<string, unknown>, id = `evt_test_${++seq}`) {
    return JSON.stringify({
      id,
      object: 'event',
      api_version: '2026-10-28.endive',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
      data: { object },
    });
  }
  return {
    event,
    deliver: (payload: string, signature = signer.webhooks.generateTestHeaderString({ payload, secret })) =>
      t.request({
        method: 'POST',
        path: '/webhooks/stripe',
        headers: { 'stripe-signature': signature, 'content-type': 'application/json' },
        body: payload,
      }),
    checkoutCompleted: (handle: string) =>
      event('checkout.session.completed', {
        id: `cs_test_${handle}`,
        object: 'checkout.session',
        mode: 'subscription',
        client_reference_id: userId(handle),
        customer: `cus_${handle}`,
        subscription: `sub_${handle}`,
      }),
    /** A subscription event whose payload may be stale: the platform reads the current state. */
    subscriptionEvent: (type: string, handle: string, staleStatus = 'active') =>
      event(type, {
        id: `sub_${handle}`,
        object: 'subscription',
        customer: `cus_${handle}`,
        status: staleStatus,
      }),
  };
}
