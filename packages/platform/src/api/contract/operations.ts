import { z } from 'zod';
import { failure, json, type OpenAPIRegistry, type Security } from './common.ts';

const readiness = z.object({
  ready: z.boolean(),
  status: z.enum(['ok', 'degraded']),
  problems: z.array(z.string()),
});

/** What operators and their tools call: readiness, metrics; and a user's export of their home. */
export function registerOperations(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'get',
    path: '/health/ready',
    tags: ['public'],
    summary: 'whether the platform can serve now (what compose, systemd or Swarm gate on)',
    responses: {
      200: json('ready', readiness),
      503: json('not ready: the engine or the database does not answer (`problems` says which)', readiness),
    },
  });
  const admin: Security = [{ adminToken: [] }, { session: [] }];
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    tags: ['admin'],
    summary: 'Prometheus metrics (text exposition format)',
    security: admin,
    responses: {
      200: { description: 'the metrics', content: { 'text/plain': { schema: z.string() } } },
      401: failure('no admin token or session (`unauthorized`)'),
      403: failure('signed in, but not an admin (`admins_only`)'),
      429: failure('too many scrapes (`rate_limited`, with `Retry-After`)'),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/me/export',
    tags: ['me'],
    summary: "a tar archive of the user's home (the instance is stopped while it is read)",
    security: [{ session: [] }],
    responses: {
      200: {
        description: 'the archive (`X-Content-Bytes` gives its size)',
        content: { 'application/x-tar': { schema: z.string().meta({ format: 'binary' }) } },
      },
      401: failure('not signed in (`signed_out`)'),
      409: failure('there is no instance yet (`no_instance`)'),
      429: failure('three exports an hour at most (`rate_limited`, with `Retry-After`)'),
    },
  });
}
