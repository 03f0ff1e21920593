import { fileURLToPath } from 'node:url';
import { type ProxyProcess, reply, type UpstreamStandIn } from '@matrixos/proxy/testing';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCookieClient, signUpWithTotp } from './cookieClient.ts';
import { startTestPlatform, startTestPlatformWithProxy, type TestPlatform } from './harness.ts';
import { PRO_PLAN, stripeEvents } from './stripeEvents.ts';
import { startStripeStandIn } from './stripeStandIn.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));
const WEBHOOK_SECRET = 'whsec_test_billing_secret';
const DAY = 86_400_000;
const PLANS = [PRO_PLAN, { id: 'tiny', name: 'Tiny', priceId: 'price_tiny', monthlyUsd: 0.01 }];
const stripeMock = await startStripeStandIn();
// Only for its webhook test helpers (signing payloads as Stripe does); it calls nothing.
const signer = new Stripe('sk_test_123');

type Client = ReturnType<typeof createCookieClient>;

/**
 * Billing against the real stripe-mock and the real LLM proxy: Checkout and the portal, signed
 * webhook events (made with the library's test helpers) that raise or lower the user's budget in
 * the proxy, once per event, with the subscription's current state read back from Stripe.
 */
describe.skipIf(!stripeMock)('billing with Stripe', () => {
  const stripe = stripeMock!;
  let t: TestPlatform;
  let proxy: ProxyProcess;
  let upstream: UpstreamStandIn;
  let close: () => Promise<void>;
  const clients = new Map<string, Client>();
  let events: ReturnType<typeof stripeEvents>;

  beforeAll(async () => {
    ({ t, proxy, upstream, close } = await startTestPlatformWithProxy({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      env: {
        TRUST_PROXY: 'true',
        STRIPE_SECRET_KEY: 'sk_test_123',
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_URL: stripe.url,
        BILLING_PLANS: JSON.stringify(PLANS),
        BILLING_GRACE: '1d',
        BILLING_METER_EVENT: 'ai_overage',
        BILLING_OVERAGE_CAP_USD: '100',
        BILLING_RETENTION: '30d',
        BILLING_RETENTION_NOTICE: '14d',
      },
    }));
    events = stripeEvents(t, WEBHOOK_SECRET);
  });
  afterAll(async () => {
    await close?.();
    await stripe.close();
  });

  async function signUp(handle: string): Promise<Client> {
    const client = createCookieClient(t.port);
    await signUpWithTotp(client, handle);
    clients.set(handle, client);
    return client;
  }
  const userId = (handle: string) => t.platform.accounts.userByHandle(handle)!.id;
  const quota = async (handle: string) =>
    (
      await fetch(`${proxy.url}/quotas/${handle}`, { headers: { authorization: `Bearer ${t.adminToken}` } })
    ).json();
  const status = async (handle: string) =>
    (await clients.get(handle)!.cp('/me/billing')).json<Record<string, unknown>>();
  const inbox = async (handle: string) => {
    const authorization = `Bearer ${t.platform.access.instanceToken(handle)}`;
    return (await t.instance(handle, { path: '/api/messages', headers: { authorization } }))
      .json<{ messages: { text: string }[] }>()
      .messages.map((m) => m.text);
  };

  it('sends a signed-in user to Stripe Checkout for a plan, and refuses what it should', async () => {
    const alice = await signUp('alice');
    const before = (await status('alice')) as { enabled: boolean; plan: { id: string }; plans: unknown[] };
    expect(before).toMatchObject({
      enabled: true,
      plan: { id: 'free' },
      hasCustomer: false,
      nextInvoice: null,
    });
    expect(before.plans).toEqual([
      expect.objectContaining({ id: 'pro', memoryBytes: 1024 ** 3, cpus: 2 }),
      expect.objectContaining({ id: 'tiny', memoryBytes: null, cpus: null }),
    ]);
    const r = await alice.cp('/me/billing/checkout', { method: 'POST', body: { plan: 'pro' } });
    expect(r.status).toBe(200);
    expect(r.json<{ url: string }>().url).toMatch(/^https:\/\/checkout\.stripe\.com\//);
    const sent = stripe.requests.find((q) => q.method === 'POST' && q.path === '/v1/checkout/sessions');
    const form = new URLSearchParams(sent!.body);
    expect(form.get('mode')).toBe('subscription');
    expect(form.get('line_items[0][price]')).toBe('price_pro');
    expect(form.get('client_reference_id')).toBe(userId('alice'));
    expect(form.get('success_url')).toBe(`http://localhost:${t.port}/dashboard?billing=done`);

    const unknown = await alice.cp('/me/billing/checkout', { method: 'POST', body: { plan: 'gold' } });
    expect([unknown.status, unknown.json<{ error: { code: string } }>().error.code]).toEqual([
      400,
      'unknown_plan',
    ]);
    expect((await alice.cp('/me/billing/portal', { method: 'POST' })).status).toBe(404);
    const signedOut = await t.request({
      method: 'POST',
      path: '/me/billing/checkout',
      body: { plan: 'pro' },
    });
    expect(signedOut.status).toBe(401);
    // A page on another site (a tenant's host) riding alice's cookies: refused before Stripe is called.
    const calls = stripe.requests.length;
    const forged = await alice.cp('/me/billing/checkout', {
      method: 'POST',
      body: { plan: 'pro' },
      headers: { origin: `http://mallory.localhost:${t.port}` },
    });
    expect([forged.status, forged.json<{ error: { code: string } }>().error.code]).toEqual([
      403,
      'bad_origin',
    ]);
    expect(stripe.requests.length).toBe(calls);
    const big = await alice.cp('/me/billing/checkout', {
      method: 'POST',
      body: { plan: 'x'.repeat(10_000) },
    });
    expect(big.status).toBe(413);
  });

  it('raises the budget in the proxy at once when checkout completes, and shows the plan and next invoice', async () => {
    expect(await quota('alice')).toMatchObject({ totalUsd: 5, monthlyUsd: null });
    stripe.setSubscription('sub_alice', { status: 'active', priceId: 'price_pro', customer: 'cus_alice' });
    const r = await events.deliver(events.checkoutCompleted('alice'));
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ received: true, duplicate: false });
    // Paid: no lifetime cap; the plan's $50 a month plus the metered headroom ($100).
    expect(await quota('alice')).toMatchObject({ totalUsd: null, monthlyUsd: 150 });
    const s = await status('alice');
    expect(s).toMatchObject({
      plan: { id: 'pro', name: 'Pro', monthlyUsd: 50 },
      status: 'active',
      hasCustomer: true,
    });
    expect(s.nextInvoice).toMatchObject({ amount: expect.any(Number), currency: expect.any(String) });
    const portal = await clients.get('alice')!.cp('/me/billing/portal', { method: 'POST' });
    expect(portal.status).toBe(200);
    const sent = stripe.requests.findLast((q) => q.path === '/v1/billing_portal/sessions');
    expect(new URLSearchParams(sent!.body).get('customer')).toBe('cus_alice');
    const again = await clients
      .get('alice')!
      .cp('/me/billing/checkout', { method: 'POST', body: { plan: 'pro' } });
    expect(again.status).toBe(409);
    await expect
      .poll(() => inbox('alice'), { timeout: 10_000 })
      .toContain('Your plan is now Pro: $50 of AI a month.');
  });

  it('handles a duplicated or replayed event once', async () => {
    const payload = events.checkoutCompleted('alice');
    expect((await events.deliver(payload)).json()).toEqual({ received: true, duplicate: false });
    // An admin lowers the budget by hand; replaying the event must not undo that.
    await fetch(`${proxy.url}/quotas/alice`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ monthlyUsd: 7 }),
    });
    const replays = await Promise.all([
      events.deliver(payload),
      events.deliver(payload),
      events.deliver(payload),
    ]);
    expect(replays.map((x) => x.json())).toEqual(Array(3).fill({ received: true, duplicate: true }));
    expect(await quota('alice')).toMatchObject({ monthlyUsd: 7 });
    await fetch(`${proxy.url}/quotas/alice`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ monthlyUsd: 150 }),
    });
  });

  it('refuses a bad signature with 400 and changes nothing', async () => {
    stripe.setSubscription('sub_alice', { status: 'canceled', priceId: 'price_pro', customer: 'cus_alice' });
    const payload = events.subscriptionEvent('customer.subscription.deleted', 'alice', 'canceled');
    const forged = signer.webhooks.generateTestHeaderString({ payload, secret: 'whsec_not_the_secret' });
    const tampered = signer.webhooks.generateTestHeaderString({
      payload: payload.replace('canceled', 'active'),
      secret: WEBHOOK_SECRET,
    });
    for (const r of [
      await events.deliver(payload, forged),
      await events.deliver(payload, tampered),
      await events.deliver(payload, ''),
    ]) {
      expect(r.status).toBe(400);
      expect(r.json<{ error: { code: string } }>().error.code).toBe('bad_signature');
    }
    expect(await quota('alice')).toMatchObject({ totalUsd: null, monthlyUsd: 150 });
    expect(await status('alice')).toMatchObject({ plan: { id: 'pro' }, status: 'active' });
    // Too large is refused before it is read (and the connection closed, not reused).
    const huge = await t.request({
      method: 'POST',
      path: '/webhooks/stripe',
      headers: { 'stripe-signature': 't=1,v1=00', connection: 'close' },
      body: `{"id":"evt_big","pad":"${'x'.repeat(300_000)}"}`,
    });
    expect(huge.status).toBe(413);
    stripe.setSubscription('sub_alice', { status: 'active', priceId: 'price_pro', customer: 'cus_alice' });
  });

  it('goes by the subscription as Stripe has it now, not by an event delivered late', async () => {
    // A stale "deleted" arrives after the user subscribed again: Stripe says active, so it stays.
    const r = await events.deliver(
      events.subscriptionEvent('customer.subscription.deleted', 'alice', 'canceled'),
    );
    expect(r.status).toBe(200);
    expect(await status('alice')).toMatchObject({ plan: { id: 'pro' }, status: 'active' });
    expect(await quota('alice')).toMatchObject({ monthlyUsd: 150 });
  });

  it('keeps a paid plan through a grace period after a failed payment, then falls back to free', async () => {
    stripe.setSubscription('sub_alice', { status: 'past_due', priceId: 'price_pro', customer: 'cus_alice' });
    const failed = events.event('invoice.payment_failed', {
      id: 'in_alice_1',
      object: 'invoice',
      customer: 'cus_alice',
      parent: { type: 'subscription_details', subscription_details: { subscription: 'sub_alice' } },
    });
    expect((await events.deliver(failed)).status).toBe(200);
    const s = (await status('alice')) as { plan: { id: string }; graceUntil: string };
    expect(s.plan.id).toBe('pro');
    expect(Date.parse(s.graceUntil) - Date.now()).toBeGreaterThan(DAY - 60_000);
    expect(await quota('alice')).toMatchObject({ totalUsd: null, monthlyUsd: 150 });
    await expect
      .poll(() => inbox('alice'), { timeout: 10_000 })
      .toContainEqual(
        expect.stringMatching(/^Your payment did not go through\. Your plan keeps running until /),
      );
    // Within the grace period nothing changes; past it the plan falls back to free.
    await t.platform.billing!.sweep(Date.now() + DAY / 2);
    expect(await status('alice')).toMatchObject({ plan: { id: 'pro' } });
    await t.platform.billing!.sweep(Date.now() + DAY + 60_000);
    expect(await status('alice')).toMatchObject({ plan: { id: 'free' }, graceUntil: null });
    expect(await quota('alice')).toMatchObject({ totalUsd: 5, monthlyUsd: null });
  });

  it('stops the paid extras of a cancelled plan at the end of its period, not before', async () => {
    await signUp('bob');
    stripe.setSubscription('sub_bob', { status: 'active', priceId: 'price_pro', customer: 'cus_bob' });
    expect((await events.deliver(events.checkoutCompleted('bob'))).status).toBe(200);
    const periodEnd = Math.floor(Date.now() / 1000) + 10 * 86400;
    stripe.setSubscription('sub_bob', {
      status: 'active',
      priceId: 'price_pro',
      customer: 'cus_bob',
      cancelAtPeriodEnd: true,
      periodEnd,
    });
    expect(
      (await events.deliver(events.subscriptionEvent('customer.subscription.updated', 'bob'))).status,
    ).toBe(200);
    expect(await status('bob')).toMatchObject({
      plan: { id: 'pro' },
      cancelAtPeriodEnd: true,
      periodEnd: new Date(periodEnd * 1000).toISOString(),
      nextInvoice: null,
    });
    expect(await quota('bob')).toMatchObject({ totalUsd: null, monthlyUsd: 150 });
    // At the period's end Stripe deletes the subscription and says so.
    stripe.setSubscription('sub_bob', {
      status: 'canceled',
      priceId: 'price_pro',
      customer: 'cus_bob',
      periodEnd,
    });
    expect(
      (await events.deliver(events.subscriptionEvent('customer.subscription.deleted', 'bob', 'canceled')))
        .status,
    ).toBe(200);
    expect(await status('bob')).toMatchObject({ plan: { id: 'free' } });
    expect(await quota('bob')).toMatchObject({ totalUsd: 5, monthlyUsd: null });
  });

  it('reports AI spend above the plan to Stripe as meter events, once per cent', async () => {
    await signUp('dora');
    stripe.setSubscription('sub_dora', { status: 'active', priceId: 'price_tiny', customer: 'cus_dora' });
    expect((await events.deliver(events.checkoutCompleted('dora'))).status).toBe(200);
    expect(await quota('dora')).toMatchObject({ totalUsd: null, monthlyUsd: 100.01 });
    const authorization = `Bearer ${t.platform.access.instanceToken('dora')}`;
    const { apiKey } = (await t.instance('dora', { path: '/env', headers: { authorization } })).json<{
      apiKey: string;
    }>();
    // 100k input + 10k output tokens of Sonnet: some tens of cents, nearly all past the plan's $0.01.
    upstream.enqueue(reply('a long answer', { usage: { input_tokens: 100_000, output_tokens: 10_000 } }));
    const asked = await fetch(`${proxy.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-sonnet-5-5',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(asked.status).toBe(200);
    const meterCalls = () => stripe.requests.filter((q) => q.path === '/v1/billing/meter_events');
    await t.platform.billing!.sweep();
    expect(meterCalls()).toHaveLength(1);
    const form = new URLSearchParams(meterCalls()[0]!.body);
    expect(form.get('event_name')).toBe('ai_overage');
    expect(form.get('payload[stripe_customer_id]')).toBe('cus_dora');
    const usage = await fetch(`${proxy.url}/usage/dora`, {
      headers: { authorization: `Bearer ${t.adminToken}` },
    });
    const spent = (await usage.json()).month.spent as number;
    expect(spent).toBeGreaterThan(0.2);
    expect(Number(form.get('payload[value]'))).toBe(Math.floor((spent - 0.01) * 100));
    await t.platform.billing!.sweep();
    expect(meterCalls()).toHaveLength(1);
    expect((await status('dora')).meteredUsd).toBe(Number(form.get('payload[value]')) / 100);
  });

  it('limits Checkout sessions per user and webhook deliveries per address', async () => {
    const erin = await signUp('erin');
    const codes: number[] = [];
    for (let i = 0; i < 21; i++)
      codes.push((await erin.cp('/me/billing/checkout', { method: 'POST', body: { plan: 'pro' } })).status);
    expect(codes.slice(0, 20).every((c) => c === 200)).toBe(true);
    expect(codes[20]).toBe(429);
    // A flood of unsigned deliveries from one address is cut off; Stripe's own (another address) still gets in.
    const flood = { 'x-forwarded-for': '203.0.113.9', 'stripe-signature': 't=1,v1=00' };
    let last = 0;
    for (let i = 0; i < 601; i++)
      last = (await t.request({ method: 'POST', path: '/webhooks/stripe', headers: flood, body: '{}' }))
        .status;
    expect(last).toBe(429);
    const ok = await events.deliver(
      events.subscriptionEvent('customer.subscription.updated', 'bob', 'canceled'),
    );
    expect(ok.status).toBe(200);
  });

  it('tells a user who left before their data is deleted, and deletes it only after', async () => {
    // alice fell back to free a (simulated) day or so from now; retention is 30 days, notice 14.
    const base = Date.now() + DAY + 60_000;
    await t.platform.billing!.sweep(base + 10 * DAY);
    expect(await inbox('alice')).not.toContainEqual(expect.stringMatching(/will be deleted/));
    await t.platform.billing!.sweep(base + 17 * DAY);
    expect(t.platform.orchestrator.exists('alice')).toBe(true);
    expect(await inbox('alice')).toContainEqual(
      expect.stringMatching(/Your instance and its files will be deleted on /),
    );
    await t.platform.billing!.sweep(base + 29 * DAY);
    expect(t.platform.orchestrator.exists('alice')).toBe(true);
    await t.platform.billing!.sweep(base + 31 * DAY);
    expect(t.platform.orchestrator.exists('alice')).toBe(false);
    // dora still pays: nothing of hers is touched.
    expect(t.platform.orchestrator.exists('dora')).toBe(true);
  });
});

describe('billing off (no Stripe settings)', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'process', command: [process.execPath, FIXTURE] });
  });
  afterAll(() => t?.destroy());

  it('changes nothing for users: no plan section, no checkout, no webhook', async () => {
    expect(t.platform.billing).toBeNull();
    const client = createCookieClient(t.port);
    await signUpWithTotp(client, 'erin');
    expect((await client.cp('/me/billing')).json()).toEqual({ enabled: false });
    const checkout = await client.cp('/me/billing/checkout', { method: 'POST', body: { plan: 'pro' } });
    expect([checkout.status, checkout.json<{ error: { code: string } }>().error.code]).toEqual([
      404,
      'billing_off',
    ]);
    const hook = await t.request({ method: 'POST', path: '/webhooks/stripe', body: { id: 'evt_1' } });
    expect(hook.status).toBe(404);
  });
});
