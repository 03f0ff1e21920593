import { dockerAvailable } from '@matrixos/shared/testing';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCookieClient, signUpWithTotp } from '../cookieClient.ts';
import { startTestPlatform, type TestPlatform } from '../harness.ts';
import { stripeEvents } from '../stripeEvents.ts';
import { startStripeStandIn } from '../stripeStandIn.ts';

const WEBHOOK_SECRET = 'whsec_test_plan_limits';
const MiB = 1024 * 1024;
const stripeMock = await startStripeStandIn();

/**
 * A paid plan's instance limits on real containers: what the plan buys (memory, CPU) is put on
 * the user's running container the moment Stripe confirms, without restarting it, and taken back
 * when the plan ends; a limit changed while the instance slept is set right at its next start.
 */
describe.skipIf(!(stripeMock && (await dockerAvailable())))('plan limits on Docker', () => {
  const stripe = stripeMock!;
  const docker = new Docker();
  let t: TestPlatform;
  let events: ReturnType<typeof stripeEvents>;

  beforeAll(async () => {
    t = await startTestPlatform({
      runtime: 'docker',
      env: {
        TRUST_PROXY: 'true',
        INSTANCE_MEMORY: '256m',
        INSTANCE_CPUS: '0.5',
        STRIPE_SECRET_KEY: 'sk_test_123',
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_URL: stripe.url,
        BILLING_PLANS: JSON.stringify([
          { id: 'pro', name: 'Pro', priceId: 'price_pro', monthlyUsd: 50, memory: '512m', cpus: 1 },
        ]),
      },
    });
    events = stripeEvents(t, WEBHOOK_SECRET);
  });
  afterAll(async () => {
    await t?.destroy();
    await stripe.close();
  });

  let token = '';
  // Through the router, as the owner's shell would: wakes the instance when it sleeps.
  const reach = () => t.instance('alice', { path: '/health', headers: { authorization: `Bearer ${token}` } });
  const container = async () => {
    const { engineId } = (await t.admin('GET', '/containers/alice')).json<{
      instance: { engineId: string };
    }>().instance;
    return docker.getContainer(engineId).inspect();
  };
  const limits = async () => {
    const c = await container();
    return { memory: c.HostConfig.Memory, cpus: (c.HostConfig.NanoCpus ?? 0) / 1e9 };
  };

  it('gives the running instance the plan memory and CPU at once, and takes them back when it ends', async () => {
    await signUpWithTotp(createCookieClient(t.port), 'alice');
    // A bearer token for the instance (the admin rotates one), to reach it as its owner would.
    const rotated = await t.admin('POST', '/containers/alice/token');
    expect(rotated.status).toBe(201);
    token = rotated.json<{ token: string }>().token;
    expect((await reach()).status).toBe(200);
    expect(await limits()).toEqual({ memory: 256 * MiB, cpus: 0.5 });
    const startedAt = (await container()).State.StartedAt;

    stripe.setSubscription('sub_alice', { status: 'active', priceId: 'price_pro', customer: 'cus_alice' });
    expect((await events.deliver(events.checkoutCompleted('alice'))).status).toBe(200);
    await expect.poll(limits, { timeout: 10_000 }).toEqual({ memory: 512 * MiB, cpus: 1 });
    // Not restarted: the owner's open work is not cut off by paying.
    const now = await container();
    expect([now.State.Running, now.State.StartedAt]).toEqual([true, startedAt]);

    stripe.setSubscription('sub_alice', { status: 'canceled', priceId: 'price_pro', customer: 'cus_alice' });
    const ended = events.subscriptionEvent('customer.subscription.deleted', 'alice', 'canceled');
    expect((await events.deliver(ended)).status).toBe(200);
    await expect.poll(limits, { timeout: 10_000 }).toEqual({ memory: 256 * MiB, cpus: 0.5 });
  });

  it('sets the limits right again when a sleeping instance starts', async () => {
    expect((await t.admin('POST', '/containers/alice/stop')).status).toBe(200);
    // Someone (or an older platform version) changed the stopped container's limits.
    const c = await container();
    await docker.getContainer(c.Id).update({ Memory: 300 * MiB, MemorySwap: 300 * MiB, NanoCpus: 2e9 });
    expect(await limits()).toEqual({ memory: 300 * MiB, cpus: 2 });
    expect((await reach()).status).toBe(200);
    expect(await limits()).toEqual({ memory: 256 * MiB, cpus: 0.5 });
  });
});
