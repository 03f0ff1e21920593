/**
 * Stripe webhook handling, end to end on one machine: the platform (process runtime, no
 * instances) with the real LLM proxy and stripe-mock. Sequential deliveries, as Stripe sends them
 * per endpoint: a new `checkout.session.completed` (signature check, the subscription read from
 * stripe-mock, the budget set in the proxy, the event and state written), then the same events
 * again (duplicates: signature check and one lookup). Prints latency percentiles.
 */
import { performance } from 'node:perf_hooks';
import Stripe from 'stripe';
import { startTestPlatformWithProxy } from '../../packages/platform/test/harness.ts';
import { startStripeStandIn } from '../../packages/platform/test/stripeStandIn.ts';

const N = Number(process.env.BENCH_EVENTS ?? 200);
const SECRET = 'whsec_bench_secret';
const stripe = await startStripeStandIn();
if (!stripe) throw new Error('stripe-mock is needed (scripts/stripe-mock.sh install)');
const { t, close } = await startTestPlatformWithProxy({
  runtime: 'process',
  env: {
    STRIPE_SECRET_KEY: 'sk_test_123',
    STRIPE_WEBHOOK_SECRET: SECRET,
    STRIPE_API_URL: stripe.url,
    BILLING_PLANS: JSON.stringify([{ id: 'pro', name: 'Pro', priceId: 'price_pro', monthlyUsd: 50 }]),
  },
});
const signer = new Stripe('sk_test_123');
const payloads: string[] = [];
for (let i = 0; i < N; i++) {
  const handle = `bench${i}`;
  const { user } = t.platform.accounts.createUser(handle, { totpSecret: 'JBSWY3DPEHPK3PXP', counter: 0 });
  stripe.setSubscription(`sub_${i}`, { status: 'active', priceId: 'price_pro', customer: `cus_${i}` });
  payloads.push(
    JSON.stringify({
      id: `evt_bench_${i}`,
      object: 'event',
      type: 'checkout.session.completed',
      data: {
        object: {
          object: 'checkout.session',
          mode: 'subscription',
          client_reference_id: user.id,
          customer: `cus_${i}`,
          subscription: `sub_${i}`,
        },
      },
    }),
  );
}

async function round(label: string): Promise<string> {
  const ms: number[] = [];
  for (const payload of payloads) {
    const signature = signer.webhooks.generateTestHeaderString({ payload, secret: SECRET });
    const start = performance.now();
    const r = await t.request({
      method: 'POST',
      path: '/webhooks/stripe',
      headers: { 'stripe-signature': signature },
      body: payload,
    });
    ms.push(performance.now() - start);
    if (r.status !== 200) throw new Error(`${label}: ${r.status} ${r.text}`);
  }
  ms.sort((a, b) => a - b);
  const p = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!.toFixed(1);
  return `| ${label} | ${N} | ${p(0.5)} | ${p(0.95)} | ${p(0.99)} |`;
}

const rows = [await round('new event (Stripe read + proxy budget + write)'), await round('duplicate')];
console.log('| delivery | events | p50 ms | p95 ms | p99 ms |\n| --- | --- | --- | --- | --- |');
console.log(rows.join('\n'));
await close();
await stripe.close();
