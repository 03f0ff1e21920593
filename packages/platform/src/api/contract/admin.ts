import { z } from 'zod';
import { remoteUrl } from '../../instanceApi/remoteUrl.ts';
import { budgetNoticeSchema } from '../../llm/budgetNotices.ts';
import {
  badBody,
  failure,
  handleParam,
  instanceReply,
  instanceState,
  instanceView,
  json,
  jsonBody,
  type OpenAPIRegistry,
  rotatedReply,
  routeTable,
} from './common.ts';

// Request bodies: the admin route modules validate with exactly these.
/** The handle's own rules are the orchestrator's (clearer messages), so the body takes anything. */
export const provisionBody = z.object({
  handle: z.unknown().meta({ type: 'string', description: 'the new handle', example: 'alice' }),
  /** Re-provision a handle whose data was kept, with that data (DELETE /containers/:handle kept it). */
  restoreData: z.boolean().optional().meta({
    description: 'give a handle whose data was kept (`DELETE /containers/{handle}`) its data back',
  }),
  /** A git repo (http or https, no credentials in it) cloned into the new instance's ~/jobs. */
  jobsRepo: remoteUrl.optional(),
});
/** The seed's `POST /admin/instances` (`instanceAliasRoutes.ts`); the handle's rules are the orchestrator's. */
export const aliasProvisionBody = z.object({
  subdomain: z.string().max(64).meta({ description: 'the new handle', example: 'alice' }),
  owner_email: z.email().max(254),
});
/** The seed's view of an instance (`GET /admin/instances/{subdomain}`). */
export const aliasReply = z.object({ subdomain: z.string(), url: z.string(), instance: instanceView });
export const roleBody = z.object({ role: z.enum(['user', 'admin']) });
export { budgetNoticeSchema };

const stats = z.object({
  memoryBytes: z.number(),
  memoryLimitBytes: z.number(),
  cpuPercent: z.number(),
});
const names = z.array(z.string());
export const reconcileReport = z.object({
  adopted: names,
  removedOrphans: names,
  recreated: names,
  started: names,
  stopped: names,
  errors: z.array(z.object({ handle: z.string(), error: z.string() })),
});
export const sweepReply = z.object({ stopped: names, paused: names, reconciled: reconcileReport });
export const containerReply = z.object({
  instance: instanceView,
  engine: z
    .object({ id: z.string(), state: z.enum(['running', 'paused', 'stopped']), stats: stats.nullable() })
    .nullable(),
});
/** `GET /admin/kept-data`: data kept after a destroy, and so a reserved handle. */
export const keptDataReply = z.object({
  kept: z.array(z.object({ handle: z.string(), keptAt: z.iso.datetime() })),
});
const spend = z.object({ today: z.number(), month: z.number(), total: z.number() });
/** `GET /admin/overview` (`adminOverviewRoute.ts`). */
export const overviewReply = z.object({
  generatedAt: z.iso.datetime(),
  runtime: z.object({ kind: z.string(), isolated: z.boolean() }),
  totals: z.object({
    users: z.number().int(),
    instances: z.number().int(),
    awake: z.number().int(),
    paused: z.number().int(),
    stopped: z.number().int(),
    provisioning: z.number().int(),
    memoryBytes: z.number(),
    aiSpendMonth: z.number().nullable(),
  }),
  instances: z.array(
    instanceView.extend({ hasAccount: z.boolean(), stats: stats.nullable(), aiSpend: spend.nullable() }),
  ),
  users: z.array(
    z.object({
      handle: z.string(),
      role: z.enum(['user', 'admin']),
      createdAt: z.iso.datetime(),
      instanceState: instanceState.nullable(),
    }),
  ),
});

const denied = {
  401: failure('no admin token or session (`unauthorized`, with `WWW-Authenticate: Bearer`)'),
  403: failure('signed in, but not an admin (`admins_only`)'),
};
const invalidHandle = { 400: failure('not a valid handle (`invalid_handle`)') };
const missing = { 404: failure('no such instance (`not_found`)') };

/** The admin API (behind `requireAdmin`): the admin token, or an admin's session. */
export function registerAdmin(registry: OpenAPIRegistry): void {
  const route = routeTable(registry, {
    tags: ['admin'],
    security: [{ adminToken: [] }, { session: [] }],
    common: () => denied,
  });
  const one = { params: handleParam };

  route(
    'post',
    '/containers/provision',
    "create an instance (volume, container, secrets), start it, wait until it's healthy",
    {
      201: json(
        'made; `token` is its API token, shown only here',
        instanceReply.extend({ token: z.string() }),
      ),
      200: json('it existed already', instanceReply),
      ...badBody,
      400: failure('a bad handle (`invalid_handle`) or body (`invalid_json`, `invalid_body`)'),
      409: failure(
        "the handle is taken, or a former instance's data is kept under it (`handle_reserved`: delete it, or provision with `restoreData: true`)",
      ),
      503: failure('the engine failed; nothing is left behind (`provision_failed`)'),
    },
    { body: jsonBody(provisionBody) },
  );
  route('get', '/containers', 'every instance', {
    200: json('the list', z.object({ instances: z.array(instanceView) })),
  });
  route(
    'get',
    '/containers/{handle}',
    "one instance, with the engine's live view",
    { 200: json('the instance', containerReply), ...invalidHandle, ...missing },
    one,
  );
  route(
    'get',
    '/containers/{handle}/logs',
    'its recent output',
    {
      200: { description: 'the last lines', content: { 'text/plain': { schema: z.string() } } },
      ...invalidHandle,
      ...missing,
    },
    { ...one, query: z.object({ tail: z.string().optional().meta({ description: 'lines, 1-5000 (200)' }) }) },
  );
  for (const [verb, summary] of [
    ['start', 'start (or resume) it and wait until it is healthy'],
    ['stop', 'stop it (it wakes on its next request)'],
    ['pause', 'freeze it (wakes in tens of ms)'],
    ['restart', 'stop, then start'],
  ] as const) {
    route(
      'post',
      `/containers/{handle}/${verb}`,
      summary,
      {
        200: json('its state now', instanceReply),
        ...invalidHandle,
        ...missing,
        ...(verb === 'pause' ? { 409: failure('it is not running (`not_running`)') } : {}),
        503: failure(`the engine failed (\`${verb === 'restart' ? 'start' : verb}_failed\`)`),
      },
      one,
    );
  }
  route(
    'delete',
    '/containers/{handle}',
    'remove the instance; its data too with `deleteData=true`',
    {
      200: json('removed', z.object({ deleted: z.string(), dataDeleted: z.boolean() })),
      ...invalidHandle,
      ...missing,
    },
    { ...one, query: z.object({ deleteData: z.enum(['true', 'false']).optional() }) },
  );
  route(
    'post',
    '/containers/{handle}/token',
    'a new instance API token, shown once (the old one is refused from now on)',
    {
      201: json('the new token; the instance is re-created with it (data kept)', rotatedReply),
      ...invalidHandle,
      ...missing,
      409: failure('it is still being provisioned (`provisioning`)'),
      429: failure('too many rotations (`rate_limited`, with `Retry-After`)'),
      503: failure('the engine could not replace the instance (`rotate_failed`)'),
    },
    one,
  );
  route(
    'delete',
    '/containers/{handle}/data',
    'delete the data a destroyed instance left (kept by `DELETE /containers/{handle}`): the handle is free again',
    {
      200: json(
        'deleted',
        z.object({ handle: z.string(), dataDeleted: z.literal(true), available: z.literal(true) }),
      ),
      ...invalidHandle,
      404: failure('no data is kept under that handle (`no_kept_data`)'),
      409: failure('the handle has an instance: delete it with `deleteData=true` (`instance_exists`)'),
    },
    one,
  );
  route('get', '/admin/kept-data', 'handles reserved by the data of a destroyed instance', {
    200: json('the kept data', keptDataReply),
  });
  route('post', '/admin/sweep', 'an idle sweep and a reconcile, now', {
    200: json('what it did', sweepReply),
  });
  route('get', '/admin/overview', 'users and instances with live engine stats, for the admin page', {
    200: json('the overview', overviewReply),
  });
  route(
    'put',
    '/admin/users/{handle}/role',
    'make an account an admin, or a user again (from its next request)',
    {
      200: json('done', z.object({ handle: z.string(), role: z.enum(['user', 'admin']) })),
      ...badBody,
      404: failure('no such account'),
    },
    { params: z.object({ handle: z.string() }), body: jsonBody(roleBody) },
  );
  route(
    'post',
    '/internal/budget-notices',
    "the LLM proxy's webhook: a budget notice for the instance's inbox",
    {
      200: json('delivered', z.object({ delivered: z.literal(true) })),
      ...badBody,
      404: failure('no such instance'),
      502: failure('the instance did not take it (`not_delivered`)'),
    },
    { body: jsonBody(budgetNoticeSchema) },
  );

  // The seed's routes (SDP-1) as aliases of `/containers/...` (`instanceAliasRoutes.ts`).
  const alias = aliasReply;
  route(
    'post',
    '/admin/instances',
    "the seed's provision: `POST /containers/provision` by `subdomain`",
    {
      201: json(
        'made; `token` is its API token, shown only here',
        alias.extend({ owner_email: z.string(), token: z.string() }),
      ),
      200: json('it existed already', alias.extend({ owner_email: z.string() })),
      ...badBody,
      400: failure('a bad handle (`invalid_handle`) or body (`invalid_json`, `invalid_body`)'),
      409: failure('the handle is taken, or data is kept under it (`handle_reserved`)'),
      503: failure('the engine failed; nothing is left behind (`provision_failed`)'),
    },
    { body: jsonBody(aliasProvisionBody) },
  );
  const bySubdomain = { params: z.object({ subdomain: handleParam.shape.handle }) };
  route(
    'get',
    '/admin/instances/{subdomain}',
    "the seed's view of one instance",
    { 200: json('the instance', alias), ...invalidHandle, ...missing },
    bySubdomain,
  );
  route(
    'delete',
    '/admin/instances/{subdomain}',
    "the seed's delete: the instance goes, its data is kept unless `deleteData=true`",
    {
      200: json('removed', z.object({ deleted: z.string() })),
      ...invalidHandle,
      ...missing,
    },
    { ...bySubdomain, query: z.object({ deleteData: z.enum(['true', 'false']).optional() }) },
  );
}
