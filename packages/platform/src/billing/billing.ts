import type { Logger } from '@matrixos/shared';
import Stripe from 'stripe';
import type { AccountStore } from '../accounts/accountStore.ts';
import type { Db } from '../db/openDb.ts';
import type { BillingAccountRow } from '../db/schema.ts';
import type { LlmProxy, QuotaPatch } from '../llm/proxyClient.ts';
import { createKeyedMutex } from '../orchestrator/keyedMutex.ts';
import type { Orchestrator } from '../orchestrator/orchestrator.ts';
import type { ResourceLimits } from '../runtime/driver.ts';
import { BillingError } from './billingError.ts';
import type { BillingConfig, Plan } from './config.ts';
import type { BillingStatus } from './contract.ts';
import { expirePlan, type PlanState, settlePlan } from './settlePlan.ts';
import { createBillingStore } from './store.ts';
import type { TellUser } from './tellUser.ts';

export interface BillingDeps {
  config: BillingConfig;
  publicUrl: URL;
  db: Db;
  accounts: Pick<AccountStore, 'userById' | 'userByHandle'>;
  /** The LLM proxy, whose budgets the plans set; without it plans change nothing there. */
  llm?: Pick<LlmProxy, 'setQuota' | 'usageOf'>;
  orchestrator: Pick<Orchestrator, 'exists' | 'destroy' | 'applyLimits'>;
  tellUser: TellUser;
  log: Logger;
  clock?: () => number;
}

const SUBSCRIPTION_EVENTS = new Set([
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.paused',
  'customer.subscription.resumed',
]);
const INVOICE_EVENTS = new Set(['invoice.paid', 'invoice.payment_failed', 'invoice.payment_succeeded']);

const idOf = (v: string | { id: string } | null | undefined): string | null =>
  v == null ? null : typeof v === 'string' ? v : v.id;
const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Stripe billing (docs/billing.md): Checkout and the customer portal for the dashboard, the
 * webhook that keeps each user's plan in step with their subscription, and a sweep for what
 * only time changes (grace periods, period ends, data retention, metered usage).
 */
export function createBilling(deps: BillingDeps) {
  const { config, log } = deps;
  const clock = deps.clock ?? Date.now;
  const store = createBillingStore(deps.db, clock);
  const stripe = new Stripe(config.secretKey, {
    ...(config.api ?? {}),
    maxNetworkRetries: 1,
    timeout: 10_000,
  });
  // One event at a time: two deliveries of one event (or two events of one subscription) never
  // interleave their read-decide-write.
  const serial = createKeyedMutex();
  const planById = new Map(config.plans.map((p) => [p.id, p]));
  const planByPrice = new Map(config.plans.map((p) => [p.priceId, p]));
  let timer: NodeJS.Timeout | null = null;

  async function stripeCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new BillingError('stripe_unavailable', `Stripe did not ${what} (${(err as Error).message})`);
    }
  }

  function quotaFor(plan: Plan | undefined): QuotaPatch {
    // Paid: no lifetime cap, the plan's monthly budget (plus the metered headroom). Free: the
    // free tier's lifetime budget again, no monthly one.
    if (!plan) return { totalUsd: config.freeUsd, monthlyUsd: null };
    return { totalUsd: null, monthlyUsd: plan.monthlyUsd + (config.meterEvent ? config.overageCapUsd : 0) };
  }

  async function applyQuota(handle: string, plan: string): Promise<void> {
    if (!deps.llm) return;
    try {
      await deps.llm.setQuota(handle, quotaFor(planById.get(plan)));
    } catch (err) {
      throw new BillingError('proxy_unavailable', (err as Error).message);
    }
  }

  /** The instance limits a plan sets (over the platform's defaults); null: the defaults. */
  function limitsOf(plan: Plan | undefined): Partial<ResourceLimits> | null {
    if (!plan || (plan.memory === undefined && plan.cpus === undefined)) return null;
    return {
      ...(plan.memory !== undefined && { memoryBytes: plan.memory }),
      ...(plan.cpus !== undefined && { nanoCpus: Math.round(plan.cpus * 1e9) }),
    };
  }

  /** After a plan change: the instance gets the new plan's limits now (it would at its next start). */
  function applyLimits(handle: string): void {
    deps.orchestrator.applyLimits(handle).catch((err: Error) => {
      log.warn({ handle, err: err.message }, 'instance limits not changed now; they apply at its next start');
    });
  }

  function handleOf(userId: string): string | null {
    return deps.accounts.userById(userId)?.handle ?? null;
  }

  function tell(userId: string, text: string): void {
    const handle = handleOf(userId);
    if (!handle) return;
    void deps.tellUser(handle, text).then((ok) => {
      if (!ok) log.warn({ handle }, 'billing notice not delivered to the instance');
    });
  }

  /** What changed for the user, in words, when their plan moved from `before` to `after`. */
  function explain(before: BillingAccountRow, after: BillingAccountRow): string | null {
    const plan = planById.get(after.plan);
    if (after.plan !== before.plan && plan)
      return `Your plan is now ${plan.name}: $${plan.monthlyUsd} of AI a month.`;
    if (after.plan !== before.plan && after.plan === 'free')
      return `Your ${planById.get(before.plan)?.name ?? 'paid'} plan has ended; you are on the free tier ($${config.freeUsd} of AI in total).`;
    if (after.graceUntil !== null && before.graceUntil === null)
      return `Your payment did not go through. Your plan keeps running until ${date(after.graceUntil)}; update your payment method from the dashboard, or it falls back to the free tier then.`;
    if (after.cancelAtPeriodEnd && !before.cancelAtPeriodEnd && after.periodEnd !== null)
      return `Your plan is cancelled: it runs until ${date(after.periodEnd)}, then you are on the free tier.`;
    return null;
  }

  /** Applies the subscription as Stripe has it now to the row (the event only says which one). */
  async function withSubscription(
    row: BillingAccountRow,
    subscriptionId: string,
  ): Promise<BillingAccountRow> {
    const sub = await stripeCall('return the subscription', () =>
      stripe.subscriptions.retrieve(subscriptionId),
    );
    const item = sub.items.data[0];
    const plan = item ? planByPrice.get(item.price.id) : undefined;
    // An older subscription of the user's ending (say, after they subscribed again) is not theirs any more.
    if (row.subscriptionId && row.subscriptionId !== sub.id && !['active', 'trialing'].includes(sub.status))
      return row;
    const prev: PlanState = { plan: row.plan, graceUntil: row.graceUntil, endedAt: row.endedAt };
    const next = settlePlan(prev, { status: sub.status, planId: plan?.id ?? null }, clock(), config.graceMs);
    return {
      ...row,
      ...next,
      customerId: idOf(sub.customer) ?? row.customerId,
      subscriptionId: sub.id,
      status: sub.status,
      periodEnd: item?.current_period_end ? item.current_period_end * 1000 : null,
      cancelAtPeriodEnd: sub.cancel_at_period_end,
      deletionNoticeAt: next.endedAt === row.endedAt ? row.deletionNoticeAt : null,
    };
  }

  /** Which user and subscription an event is about; null for events billing does not follow. */
  function subjectOf(event: Stripe.Event): { row: BillingAccountRow; subscriptionId: string } | null {
    const obj = event.data.object as unknown as Record<string, unknown>;
    if (event.type === 'checkout.session.completed') {
      const s = event.data.object as Stripe.Checkout.Session;
      const subscriptionId = idOf(s.subscription);
      const customerId = idOf(s.customer);
      if (s.mode !== 'subscription' || !subscriptionId || !s.client_reference_id) return null;
      if (!deps.accounts.userById(s.client_reference_id)) return null;
      const row = store.of(s.client_reference_id);
      return { row: { ...row, customerId: customerId ?? row.customerId }, subscriptionId };
    }
    let customerId: string | null = null;
    let subscriptionId: string | null = null;
    if (SUBSCRIPTION_EVENTS.has(event.type)) {
      customerId = idOf(obj.customer as string);
      subscriptionId = obj.id as string;
    } else if (INVOICE_EVENTS.has(event.type)) {
      const inv = event.data.object as Stripe.Invoice;
      customerId = idOf(inv.customer);
      subscriptionId = idOf(inv.parent?.subscription_details?.subscription ?? null);
    }
    if (!customerId || !subscriptionId) return null;
    const row = store.byCustomer(customerId);
    return row ? { row, subscriptionId } : null;
  }

  async function handle(event: Stripe.Event): Promise<{ duplicate: boolean }> {
    if (store.seen(event.id)) return { duplicate: true };
    const subject = subjectOf(event);
    const after = subject ? await withSubscription(subject.row, subject.subscriptionId) : null;
    // The proxy first: if it fails, nothing is recorded and Stripe's retry does it all again.
    if (subject && after && after.plan !== subject.row.plan) {
      const h = handleOf(after.userId);
      if (h) await applyQuota(h, after.plan);
    }
    if (!store.saveWithEvent(after, { id: event.id, type: event.type })) return { duplicate: true };
    if (subject && after) {
      const h = after.plan !== subject.row.plan ? handleOf(after.userId) : null;
      if (h) applyLimits(h);
      const text = explain(subject.row, after);
      if (text) tell(after.userId, text);
      log.info(
        { event: event.type, userId: after.userId, plan: after.plan, status: after.status },
        'billing event',
      );
    }
    return { duplicate: false };
  }

  /** Grace periods and cancelled periods that ran out: back to free (no event needed). */
  async function expire(now: number): Promise<void> {
    await eachRow('expiry', async (row) => {
      const next = expirePlan(row, now);
      if (!next) return;
      const h = handleOf(row.userId);
      if (h) await applyQuota(h, next.plan);
      const after = { ...row, ...next, deletionNoticeAt: null };
      store.save(after);
      if (h) applyLimits(h);
      const text = explain(row, after);
      if (text) tell(row.userId, text);
    });
  }

  /**
   * Data retention for users whose paid plan ended (BILLING_RETENTION): told in their inbox
   * BILLING_RETENTION_NOTICE before, and deleted only once that notice reached them and its time
   * has passed. Subscribing again clears `endedAt` and with it the deletion.
   */
  async function retain(now: number): Promise<void> {
    if (config.retentionMs === 0) return;
    await eachRow('retention', async (row) => {
      if (row.plan !== 'free' || row.endedAt === null) return;
      const h = handleOf(row.userId);
      if (!h || !deps.orchestrator.exists(h)) return;
      const deleteAt = row.endedAt + config.retentionMs;
      if (row.deletionNoticeAt === null) {
        if (now < deleteAt - config.retentionNoticeMs) return;
        const when = date(Math.max(deleteAt, now + config.retentionNoticeMs));
        const ok = await deps.tellUser(
          h,
          `Your paid plan ended on ${date(row.endedAt)}. Your instance and its files will be deleted on ${when} unless you subscribe again from the dashboard. Download anything you want to keep before then.`,
        );
        if (ok) store.save({ ...row, deletionNoticeAt: now });
        return;
      }
      if (now < Math.max(deleteAt, row.deletionNoticeAt + config.retentionNoticeMs)) return;
      await deps.orchestrator.destroy(h, { deleteData: true });
      store.save({ ...row, endedAt: null, deletionNoticeAt: null });
      log.info({ handle: h }, 'instance deleted: paid plan ended past the retention period');
    });
  }

  /** Usage-based billing: this month's AI spend above the plan, in cents, as meter events. */
  async function meter(now: number): Promise<void> {
    const llm = deps.llm;
    const event = config.meterEvent;
    if (!event || !llm) return;
    const month = new Date(now).toISOString().slice(0, 7);
    await eachRow('metering', async (row) => {
      const plan = planById.get(row.plan);
      const h = handleOf(row.userId);
      if (!plan || !row.customerId || !h) return;
      const usage = (await llm.usageOf(h)) as { month?: { spent?: number } };
      const overCents = Math.floor(Math.max(0, (usage.month?.spent ?? 0) - plan.monthlyUsd) * 100);
      const reported = row.meteredMonth === month ? row.meteredCents : 0;
      if (overCents <= reported) return;
      await stripeCall('take the meter event', () =>
        stripe.billing.meterEvents.create({
          event_name: event,
          // The identifier makes a retry of the same report count once at Stripe.
          identifier: `${row.userId}:${month}:${overCents}`,
          payload: { stripe_customer_id: row.customerId as string, value: String(overCents - reported) },
        }),
      );
      store.save({ ...store.of(row.userId), meteredMonth: month, meteredCents: overCents });
    });
  }

  /** Runs `fn` for each row; one user's failure is logged and does not stop the others. */
  async function eachRow(what: string, fn: (row: BillingAccountRow) => Promise<void>): Promise<void> {
    for (const row of store.all()) {
      try {
        await fn(row);
      } catch (err) {
        log.error({ err, userId: row.userId }, `billing ${what} failed; the next sweep tries again`);
      }
    }
  }

  async function sweep(now = clock()): Promise<void> {
    await serial.run('billing', async () => {
      await expire(now);
      await retain(now);
      await meter(now);
      // Stripe retries a delivery for up to 3 days: ids older than a month cannot come back.
      store.pruneEvents(now - 30 * 86_400_000);
    });
  }

  return {
    stripe,
    plans: config.plans,
    /** A Checkout session for a plan; the browser goes to its URL. */
    async checkout(user: { userId: string; handle: string }, planId: string): Promise<{ url: string }> {
      const plan = planById.get(planId);
      if (!plan) throw new BillingError('unknown_plan', `there is no plan "${planId}"`);
      const row = store.of(user.userId);
      if (row.plan !== 'free')
        throw new BillingError(
          'already_subscribed',
          'you have a plan already: change it from "Manage billing"',
        );
      const back = new URL('/dashboard', deps.publicUrl);
      const session = await stripeCall('start Checkout', () =>
        stripe.checkout.sessions.create({
          mode: 'subscription',
          line_items: [{ price: plan.priceId, quantity: 1 }],
          client_reference_id: user.userId,
          ...(row.customerId ? { customer: row.customerId } : {}),
          metadata: { userId: user.userId, handle: user.handle },
          subscription_data: {
            metadata: { userId: user.userId, handle: user.handle },
            ...(config.trialDays > 0 ? { trial_period_days: config.trialDays } : {}),
          },
          success_url: `${back.href}?billing=done`,
          cancel_url: `${back.href}?billing=cancelled`,
        }),
      );
      if (!session.url) throw new BillingError('stripe_unavailable', 'Stripe gave no Checkout address');
      return { url: session.url };
    },
    /** The customer portal, to change the plan or card, or cancel. */
    async portal(user: { userId: string }): Promise<{ url: string }> {
      const row = store.of(user.userId);
      if (!row.customerId) throw new BillingError('no_subscription', 'you have not subscribed yet');
      const session = await stripeCall('open the customer portal', () =>
        stripe.billingPortal.sessions.create({
          customer: row.customerId as string,
          return_url: new URL('/dashboard', deps.publicUrl).href,
        }),
      );
      return { url: session.url };
    },
    /** The user's plan and next invoice, for the dashboard. */
    async status(user: { userId: string }): Promise<BillingStatus> {
      const row = store.of(user.userId);
      const plan = planById.get(row.plan);
      let nextInvoice: BillingStatus['nextInvoice'] = null;
      if (plan && row.customerId && row.subscriptionId && !row.cancelAtPeriodEnd) {
        try {
          const inv = await stripe.invoices.createPreview({
            customer: row.customerId,
            subscription: row.subscriptionId,
          });
          const at = inv.next_payment_attempt ?? inv.period_end;
          nextInvoice = {
            amount: inv.amount_due / 100,
            currency: inv.currency,
            at: at ? new Date(at * 1000).toISOString() : null,
          };
        } catch (err) {
          log.warn({ err }, 'upcoming invoice not readable');
        }
      }
      const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
      return {
        enabled: true,
        plan: plan
          ? { id: plan.id, name: plan.name, monthlyUsd: plan.monthlyUsd }
          : { id: 'free', name: 'Free', monthlyUsd: null },
        freeUsd: config.freeUsd,
        status: row.status,
        periodEnd: iso(row.periodEnd),
        cancelAtPeriodEnd: row.cancelAtPeriodEnd,
        graceUntil: iso(row.graceUntil),
        hasCustomer: row.customerId !== null,
        nextInvoice,
        meteredUsd: config.meterEvent ? (row.meteredCents ?? 0) / 100 : null,
        plans: config.plans.map((p) => ({
          id: p.id,
          name: p.name,
          monthlyUsd: p.monthlyUsd,
          memoryBytes: p.memory ?? null,
          cpus: p.cpus ?? null,
          priceLabel: p.priceLabel ?? null,
        })),
        trialDays: config.trialDays,
      };
    },
    /** Verifies a webhook delivery (raw body, signature header) and handles its event once. */
    async webhook(raw: string, signature: string | undefined): Promise<{ duplicate: boolean }> {
      let event: Stripe.Event;
      try {
        event = stripe.webhooks.constructEvent(raw, signature ?? '', config.webhookSecret);
      } catch {
        throw new BillingError('bad_signature', 'the Stripe signature does not match this body');
      }
      return serial.run('billing', () => handle(event));
    },
    sweep,
    /** The limits the user's current plan puts on their instance; null: the platform's defaults. */
    planLimits(handle: string): Partial<ResourceLimits> | null {
      const user = deps.accounts.userByHandle(handle);
      return user ? limitsOf(planById.get(store.of(user.id).plan)) : null;
    },
    start(): void {
      if (timer) return;
      timer = setInterval(() => {
        sweep().catch((err) => log.error({ err }, 'billing sweep failed'));
      }, config.sweepIntervalMs);
      timer.unref();
    },
    stop(): void {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}

export type Billing = ReturnType<typeof createBilling>;
