import { fileURLToPath } from 'node:url';
import { launchChromium, type TestBrowser, toolAvailable } from '@matrixos/shared/testing';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../harness.ts';
import { PRO_PLAN } from '../stripeEvents.ts';
import { startStripeStandIn } from '../stripeStandIn.ts';
import { controlUrl, startTotpSignup } from './flows.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/streamingInstance.ts', import.meta.url));
const WEBHOOK_SECRET = 'whsec_test_browser_billing';
const chromium = toolAvailable('chromium');
const stripeMock = chromium ? await startStripeStandIn() : null;

/**
 * The dashboard's plan section in real Chromium, with billing on against stripe-mock: the free
 * tier and the plans on offer, "Subscribe" up to the redirect to Stripe Checkout (whose page is
 * answered in the browser: Stripe is not reachable here), and a paid plan after the webhook.
 */
describe.skipIf(!chromium || !stripeMock)('dashboard plan section in Chromium', () => {
  const stripe = stripeMock!;
  let t: TestPlatform;
  let browser: TestBrowser;

  beforeAll(async () => {
    t = await startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      env: {
        STRIPE_SECRET_KEY: 'sk_test_123',
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_URL: stripe.url,
        BILLING_PLANS: JSON.stringify([PRO_PLAN]),
      },
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.destroy();
    await stripe.close();
  });

  it('shows the free tier, sends the user to Checkout for a plan, and shows the plan once paid', async () => {
    const page = await browser.newPage();
    // The account exists (and this browser is signed in) once the recovery codes are shown.
    await startTotpSignup(page, t.port, 'penny');
    await page.goto(controlUrl(t.port, '/dashboard'));
    const card = page.locator('#plan-card');
    await card.waitFor();
    expect(await page.locator('#plan-name').textContent()).toBe('Free');
    expect(await page.locator('#plan-detail').textContent()).toBe('The free tier: $5.00 of AI in total.');
    expect(await page.locator('#plans li .meta').textContent()).toBe(
      '$20 / month · $50.00 of AI a month · 1.0 GiB memory · 2 CPUs',
    );
    expect(await page.locator('#plan-manage').isHidden()).toBe(true);

    // Stripe's own page is out of reach offline: the browser gets a stand-in for it.
    await page.route('https://checkout.stripe.com/**', (route) =>
      route.fulfill({ contentType: 'text/html', body: '<title>Stripe Checkout</title><h1>Pay</h1>' }),
    );
    await page.getByRole('button', { name: 'Subscribe to Pro' }).click();
    await page.waitForURL(/^https:\/\/checkout\.stripe\.com\//);
    expect(await page.title()).toBe('Stripe Checkout');
    const sent = stripe.requests.find((q) => q.path === '/v1/checkout/sessions');
    expect(new URLSearchParams(sent!.body).get('line_items[0][price]')).toBe('price_pro');

    // Stripe confirms; back on the dashboard the plan is Pro and the portal is offered.
    stripe.setSubscription('sub_penny', { status: 'active', priceId: 'price_pro', customer: 'cus_penny' });
    const payload = JSON.stringify({
      id: 'evt_browser_1',
      object: 'event',
      type: 'checkout.session.completed',
      data: {
        object: {
          id: 'cs_penny',
          object: 'checkout.session',
          mode: 'subscription',
          client_reference_id: t.platform.accounts.userByHandle('penny')!.id,
          customer: 'cus_penny',
          subscription: 'sub_penny',
        },
      },
    });
    const signature = new Stripe('sk_test_123').webhooks.generateTestHeaderString({
      payload,
      secret: WEBHOOK_SECRET,
    });
    const r = await t.request({
      method: 'POST',
      path: '/webhooks/stripe',
      headers: { 'stripe-signature': signature },
      body: payload,
    });
    expect(r.status).toBe(200);
    await page.goto(controlUrl(t.port, '/dashboard?billing=done'));
    await page.locator('#plan-name', { hasText: 'Pro' }).waitFor();
    expect(await page.locator('#notice').textContent()).toMatch(/^Thank you: your plan starts/);
    expect(await page.locator('#plan-detail').textContent()).toBe('$50.00 of AI a month.');
    await page.locator('#plan-invoice:not([hidden])').waitFor();
    expect(await page.locator('#plan-invoice').textContent()).toMatch(/^Next invoice: /);
    expect(await page.locator('#plan-manage').isVisible()).toBe(true);
    expect(await page.locator('#plans li').count()).toBe(0);
  });
});
