import { HttpError, limitBody, readJson } from '@matrixos/shared';
import { Hono, type MiddlewareHandler } from 'hono';
import type { RateLimiter } from '../accounts/rateLimiter.ts';
import type { Billing } from '../billing/billing.ts';
import { BillingError } from '../billing/billingError.ts';
import { checkoutRequest } from '../billing/contract.ts';
import { clientIp } from './clientIp.ts';
import { rateLimited } from './rateLimited.ts';
import type { AppEnv, SessionCookies } from './sessionCookies.ts';

const STATUS: Record<BillingError['code'], 400 | 404 | 409 | 502 | 503> = {
  unknown_plan: 400,
  bad_signature: 400,
  no_subscription: 404,
  already_subscribed: 409,
  stripe_unavailable: 502,
  proxy_unavailable: 503,
};

/** Billing's domain errors as HTTP, in one place. */
async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BillingError) throw new HttpError(STATUS[err.code], err.code, err.message);
    throw err;
  }
}

const off = () => new HttpError(404, 'billing_off', 'billing is not set up on this server');

/**
 * Plans for the signed-in user (`/me/billing*`) and Stripe's webhook. The webhook carries no
 * session and no admin token: it is authenticated by Stripe's signature over the raw body, so it
 * sits outside the admin group, and the Origin check passes it (it carries no cookies of ours).
 * With billing off, `GET /me/billing` says so and the rest answer 404.
 */
export function billingRoutes(deps: {
  billing?: Billing | null;
  cookies: SessionCookies;
  limiter: RateLimiter;
  config: { trustProxy: boolean };
}) {
  const { billing, limiter } = deps;
  const app = new Hono<AppEnv>();
  const signedIn: MiddlewareHandler<AppEnv> = async (c, next) => {
    // The /me routes' guard may have resolved the session already: resolve it once.
    if (!c.get('user')) {
      const user = await deps.cookies.resolve(c);
      if (!user) throw new HttpError(401, 'signed_out', 'please sign in');
      c.set('user', user);
    }
    await next();
  };
  const perUser: MiddlewareHandler<AppEnv> = async (c, next) => {
    const r = limiter.hit(`billing:${c.var.user.userId}`, 20, 10 * 60_000);
    if (!r.ok) throw rateLimited(r.retryAfterMs);
    await next();
  };

  app.get('/me/billing', signedIn, async (c) => {
    if (!billing) return c.json({ enabled: false });
    return c.json(await mapped(() => billing.status(c.var.user)));
  });
  app.post('/me/billing/checkout', signedIn, perUser, limitBody(4 * 1024), async (c) => {
    if (!billing) throw off();
    const body = await readJson(c, checkoutRequest);
    return c.json(await mapped(() => billing.checkout(c.var.user, body.plan)));
  });
  app.post('/me/billing/portal', signedIn, perUser, limitBody(4 * 1024), async (c) => {
    if (!billing) throw off();
    return c.json(await mapped(() => billing.portal(c.var.user)));
  });

  // Stripe's events are a few KB; 256 KB leaves room for large invoices.
  app.post('/webhooks/stripe', limitBody(256 * 1024), async (c) => {
    if (!billing) throw off();
    const r = limiter.hit(`stripe-webhook:${clientIp(c, deps.config.trustProxy)}`, 600, 60_000);
    if (!r.ok) throw rateLimited(r.retryAfterMs);
    // The signature is over the exact bytes: read them raw, never parsed and re-serialised.
    const raw = await c.req.text();
    const { duplicate } = await mapped(() => billing.webhook(raw, c.req.header('stripe-signature')));
    return c.json({ received: true, duplicate });
  });
  return app;
}
