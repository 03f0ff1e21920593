import { z } from 'zod';
import { billingStatus, checkoutRequest, redirectResponse, webhookResponse } from '../../billing/contract.ts';
import { badBody, failure, json, jsonBody, type OpenAPIRegistry, rateLimited, routeTable } from './common.ts';

const signedOut = { 401: failure('not signed in (`signed_out`)') };
const origin = { 403: failure("`Origin` missing or not the control plane's (`bad_origin`)") };
const off = { 404: failure('billing is not set up on this server (`billing_off`)') };
const stripeDown = { 502: failure('Stripe did not answer (`stripe_unavailable`)') };

/** Plans for the signed-in user and Stripe's webhook (`billingRoutes.ts`, docs/billing.md). */
export function registerBilling(registry: OpenAPIRegistry): void {
  const tags = ['billing'];
  const route = routeTable(registry, {
    tags,
    security: [{ session: [] }],
    common: (method) => ({ ...signedOut, ...(method === 'get' ? {} : origin) }),
  });

  route('get', '/me/billing', 'the plan, subscription and next invoice (`{"enabled": false}` when off)', {
    200: json('the billing status', billingStatus),
    ...stripeDown,
  });
  route(
    'post',
    '/me/billing/checkout',
    'a Stripe Checkout page for a plan (`?billing=done` or `cancelled` on the way back)',
    {
      200: json("Stripe's page", redirectResponse),
      ...badBody,
      400: failure('no such plan (`unknown_plan`), or a bad body'),
      ...off,
      409: failure('a plan already: change it in the portal (`already_subscribed`)'),
      ...rateLimited,
      ...stripeDown,
    },
    { body: jsonBody(checkoutRequest) },
  );
  route('post', '/me/billing/portal', "Stripe's customer portal (change plan, card, cancel)", {
    200: json("Stripe's page", redirectResponse),
    404: failure('billing is off (`billing_off`), or never through Checkout (`no_subscription`)'),
    ...rateLimited,
    ...stripeDown,
  });
  registry.registerPath({
    method: 'post',
    path: '/webhooks/stripe',
    tags,
    summary: "Stripe's events: public, authenticated by `Stripe-Signature` over the raw body",
    request: {
      headers: z.object({ 'stripe-signature': z.string().optional() }),
      body: {
        required: true,
        content: {
          'application/json': { schema: z.looseObject({}).meta({ description: 'a Stripe event' }) },
        },
      },
    },
    responses: {
      200: json('taken (`duplicate`: seen before, not applied twice)', webhookResponse),
      400: failure('a missing or wrong signature (`bad_signature`)'),
      ...off,
      413: failure('the body is larger than 256 KiB (`body_too_large`)'),
      ...rateLimited,
      503: failure('the LLM proxy could not take the new budget; Stripe retries (`proxy_unavailable`)'),
    },
  });
}
