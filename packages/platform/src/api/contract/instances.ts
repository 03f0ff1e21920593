import { z } from 'zod';
import { failure, type OpenAPIRegistry } from './common.ts';

/** Tag of the routed traffic: described here, answered by the instance, never fuzzed as the platform. */
export const INSTANCE_TRAFFIC = 'instance-traffic';

/**
 * Requests for an instance (`router/`): any whose Host is `{handle}.{PLATFORM_DOMAIN}` (that
 * cannot be written as an OpenAPI path: see the description's text), and this path fallback on
 * the control plane's host. What answers is the instance's gateway, with its own description.
 */
export function registerInstances(registry: OpenAPIRegistry): void {
  for (const method of ['get', 'post', 'put', 'delete'] as const) {
    registry.registerPath({
      method,
      path: '/proxy/{handle}/{path}',
      tags: [INSTANCE_TRAFFIC],
      summary:
        "an instance's own API and pages, through the router (the prefix becomes `X-Forwarded-Prefix`)",
      description:
        'Routed to the gateway of `handle` (woken first if asleep). The owner passes with the session ' +
        'cookie a one-use link set on the instance host, API clients with the instance token; anyone ' +
        'else gets `401`. What the gateway answers is in its own `/openapi.json`.',
      security: [{ instanceToken: [] }],
      request: { params: z.object({ handle: z.string(), path: z.string() }) },
      responses: {
        200: { description: "the instance's answer, streamed unchanged" },
        401: failure('not the owner, an admin or the instance token'),
        404: failure('no such instance'),
        503: failure('it did not wake in time (`wake_timeout`, with `Retry-After`)'),
      },
    });
  }
}
