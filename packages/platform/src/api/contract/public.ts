import { z } from 'zod';
import { failure, json, type OpenAPIRegistry, rateLimited } from './common.ts';

const counts = z.object({
  total: z.number().int(),
  provisioning: z.number().int(),
  running: z.number().int(),
  paused: z.number().int(),
  stopped: z.number().int(),
});

/** `GET /health` (`healthRoute.ts`). */
export const healthReply = z
  .object({
    status: z.enum(['ok', 'degraded']),
    version: z.string(),
    uptime: z.number().int().meta({ description: 'seconds' }),
    runtime: z
      .object({
        kind: z.string(),
        isolated: z.boolean(),
        ok: z.boolean(),
        running: z.number().int().optional(),
        error: z.string().optional(),
      })
      .loose(),
    instances: counts.loose(),
    memory: z.object({ totalBytes: z.number(), freeBytes: z.number(), platformRssBytes: z.number() }).loose(),
    disk: z.object({ path: z.string(), totalBytes: z.number(), freeBytes: z.number() }).loose(),
    homeserver: z
      .object({
        status: z.enum(['ok', 'unreachable', 'not_configured']),
        serverName: z.string().optional(),
        error: z.string().optional(),
        checkedAt: z.string().optional(),
      })
      .loose(),
  })
  .loose()
  .meta({ id: 'Health' });

export const statsReply = z.object({
  instances: z.object({ total: z.number().int(), awake: z.number().int() }),
});

const html = (description: string) => ({ description, content: { 'text/html': { schema: z.string() } } });
const redirect = { 302: { description: 'sign in first (to `/login?next=...`), or already signed in' } };

/** What anyone may call: health, the edge's certificate check, the pages, the description itself. */
export function registerPublic(registry: OpenAPIRegistry): void {
  const tags = ['public'];
  registry.registerPath({
    method: 'get',
    path: '/health',
    tags,
    summary: 'whether the platform and its engine work, and how full the machine is',
    responses: {
      200: json('healthy', healthReply),
      503: json('the engine does not answer (`status: degraded`)', healthReply),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/tls/ask',
    tags,
    summary: "Caddy's on-demand TLS: may the edge get a certificate for this name?",
    request: { query: z.object({ domain: z.string().optional() }) },
    responses: {
      200: { description: "yes: one of the platform's names, or an instance that exists" },
      404: { description: 'no' },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/stats',
    tags,
    summary: "the landing page's live count",
    responses: { 200: json('instances, and how many are awake', statsReply) },
  });
  registry.registerPath({
    method: 'get',
    path: '/openapi.json',
    tags,
    summary: 'this description (OpenAPI 3.1)',
    responses: { 200: json('the document', z.object({ openapi: z.string() }).loose()) },
  });
  registry.registerPath({
    method: 'get',
    path: '/',
    tags: ['pages'],
    summary: 'the landing page',
    responses: { 200: html('the page') },
  });
  for (const [path, summary] of [
    ['/signup', 'the sign-up page'],
    ['/login', 'the sign-in page'],
    ['/dashboard', "the user's dashboard"],
    ['/admin', "the admin's dashboard"],
  ] as const) {
    registry.registerPath({
      method: 'get',
      path,
      tags: ['pages'],
      summary,
      request: path === '/login' ? { query: z.object({ next: z.string().optional() }) } : {},
      responses: {
        200: html('the page'),
        ...(path === '/signup' || path === '/login' || path === '/dashboard' || path === '/admin'
          ? redirect
          : {}),
        ...(path === '/admin' ? { 403: html('signed in, but not an admin') } : {}),
      },
    });
  }
  registry.registerPath({
    method: 'get',
    path: '/open/{handle}',
    tags: ['pages'],
    summary:
      "back into an instance whose pass ran out (its refresh path sends browsers here): a new bridge token, then `next` on the instance's host",
    request: {
      params: z.object({ handle: z.string() }),
      query: z.object({ next: z.string().optional() }),
    },
    responses: {
      302: { description: "to the instance's bridge with a new token, or to sign in first" },
      400: failure('not a handle (`bad_handle`)'),
      403: html('signed in, but not the owner (nor an admin)'),
      ...rateLimited,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/assets/{name}',
    tags: ['pages'],
    summary: "the pages' scripts, styles and icons",
    request: { params: z.object({ name: z.string() }) },
    responses: {
      200: { description: 'the file', content: { '*/*': { schema: z.string() } } },
      304: { description: 'not modified (`If-None-Match`)' },
      404: failure('no such file'),
    },
  });
}
