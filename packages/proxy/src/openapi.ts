import { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { ownKeyBody, ownKeyInfo, registeredKey, registerKeyBody, revokedKey } from './contract/keys.ts';
import { quota, quotaBody } from './contract/quotas.ts';
import { apiError, PROXY_HEADERS, refusalBody } from './contract/refusals.ts';
import { proxyHealth, usageReport, usageSummary } from './contract/usage.ts';
import { HANDLE } from './handleParam.ts';
import { V1_ROUTES } from './upstream/v1Handler.ts';

const json = <S extends z.ZodType>(schema: S, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [String(s), json(apiError, ERROR_TEXT[s] ?? 'error')]));
const ERROR_TEXT: Record<number, string> = {
  400: 'bad input (a field, a handle, the JSON)',
  401: 'no valid credential',
  403: 'a credential that may not do this',
  409: 'conflict',
  413: 'body too large',
};
const handleParams = z.object({ handle: z.string().regex(HANDLE) });
type Security = Record<string, string[]>[];
const admin: Security = [{ adminBearer: [] }];
const instance: Security = [{ instanceKey: [] }, { instanceBearer: [] }];

/** An Anthropic error body: the proxy's own refusals carry `code` (see RefusalBody), the upstream's do not. */
const anthropicError = z.object({
  type: z.literal('error'),
  error: z.looseObject({ type: z.string(), message: z.string() }),
});

/**
 * The proxy's OpenAPI 3.1 description, generated from the contract's schemas. `/v1/*` is the
 * Anthropic Messages API passed through (https://docs.anthropic.com/en/api): described by the
 * fields the proxy itself reads and the refusals it adds, the rest is the API's.
 */
export function proxyOpenApi(serverUrl?: string) {
  const api = new OpenAPIHono();
  const r = api.openAPIRegistry;
  r.registerComponent('securitySchemes', 'adminBearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'PLATFORM_ADMIN_TOKEN (the platform)',
  });
  r.registerComponent('securitySchemes', 'instanceKey', {
    type: 'apiKey',
    in: 'header',
    name: 'x-api-key',
    description: "an instance's proxy token",
  });
  r.registerComponent('securitySchemes', 'instanceBearer', {
    type: 'http',
    scheme: 'bearer',
    description: "an instance's proxy token as a bearer token",
  });
  // Schemas are inlined: zod-to-openapi names a component only through `.openapi()`, which the
  // contract's plain zod schemas (bundled into the gateway too) do not carry.
  const Refusal = refusalBody;

  r.registerPath({
    method: 'get',
    path: '/health',
    tags: ['public'],
    summary: 'Health (no authentication)',
    responses: { 200: json(proxyHealth, 'healthy'), 503: json(proxyHealth, 'the database does not answer') },
  });
  r.registerPath({
    method: 'get',
    path: '/metrics',
    tags: ['budgets'],
    summary: 'Prometheus metrics (admin token)',
    security: admin,
    responses: {
      200: { description: 'the metrics', content: { 'text/plain': { schema: z.string() } } },
      ...errors(401, 429),
    },
  });
  r.registerPath({
    method: 'get',
    path: '/openapi.json',
    tags: ['public'],
    summary: 'This description (no authentication)',
    responses: { 200: json(z.looseObject({ openapi: z.string() }), 'OpenAPI 3.1') },
  });
  r.registerPath({
    method: 'put',
    path: '/keys/{handle}',
    tags: ['keys'],
    summary: "Register (or rotate) an instance's proxy token",
    security: admin,
    request: { params: handleParams, body: { content: { 'application/json': { schema: registerKeyBody } } } },
    responses: { 200: json(registeredKey, 'registered'), ...errors(400, 401, 409, 413) },
  });
  r.registerPath({
    method: 'delete',
    path: '/keys/{handle}',
    tags: ['keys'],
    summary: "Revoke an instance's token and delete its user's own Anthropic key",
    security: admin,
    request: { params: handleParams },
    responses: { 200: json(revokedKey, 'revoked (false: there was none)'), ...errors(400, 401) },
  });
  r.registerPath({
    method: 'put',
    path: '/keys/self/anthropic',
    tags: ['own-key'],
    summary: "Set the calling instance's user's own Anthropic key",
    security: instance,
    request: { body: { content: { 'application/json': { schema: ownKeyBody } } } },
    responses: { 200: json(ownKeyInfo, 'set'), ...errors(400, 401, 403, 413) },
  });
  r.registerPath({
    method: 'get',
    path: '/keys/self/anthropic',
    tags: ['own-key'],
    summary: 'Whether the user has a key of their own (never the key)',
    security: instance,
    responses: { 200: json(ownKeyInfo, 'the key hint'), ...errors(401, 403) },
  });
  r.registerPath({
    method: 'delete',
    path: '/keys/self/anthropic',
    tags: ['own-key'],
    summary: "Remove the user's own key",
    security: instance,
    responses: { 200: json(ownKeyInfo, 'removed'), ...errors(401, 403) },
  });
  r.registerPath({
    method: 'get',
    path: '/usage/summary',
    tags: ['budgets'],
    summary: "Every user's spend today, this month and in total",
    security: admin,
    responses: { 200: json(usageSummary, 'the summary'), ...errors(401) },
  });
  r.registerPath({
    method: 'get',
    path: '/usage/{handle}',
    tags: ['budgets'],
    summary: "One user's budgets and spend (its own instance, or the admin)",
    security: [...admin, ...instance],
    request: { params: handleParams },
    responses: { 200: json(usageReport, 'the usage'), ...errors(400, 401, 403) },
  });
  r.registerPath({
    method: 'get',
    path: '/quotas/{handle}',
    tags: ['budgets'],
    summary: "A user's limits in dollars",
    security: admin,
    request: { params: handleParams },
    responses: { 200: json(quota, 'the limits'), ...errors(400, 401) },
  });
  r.registerPath({
    method: 'post',
    path: '/quotas/{handle}',
    tags: ['budgets'],
    summary: "Set some of a user's limits (null removes one, omitted keeps it)",
    security: admin,
    request: { params: handleParams, body: { content: { 'application/json': { schema: quotaBody } } } },
    responses: { 200: json(quota, 'the limits now'), ...errors(400, 401, 413) },
  });

  const refusal = (description: string) => ({
    description,
    headers: {
      [PROXY_HEADERS.refusal]: { schema: { type: 'string' as const }, description: 'the refusal code' },
    },
    content: { 'application/json': { schema: Refusal } },
  });
  // Statuses the Anthropic API uses too: its own answer (no `code`) is passed through unchanged.
  const refusalOrUpstream = (description: string) => {
    const own = refusal(`${description} (or the API's own)`);
    return { ...own, content: { 'application/json': { schema: z.union([Refusal, anthropicError]) } } };
  };
  const passthrough = {
    default: {
      description: "the Anthropic API's own answer, passed through",
      content: { 'application/json': { schema: anthropicError } },
    },
  };
  const messagesBody = z.looseObject({
    model: z.string().min(1).max(256),
    max_tokens: z.number().int().positive(),
    stream: z.boolean().optional(),
    messages: z.array(z.looseObject({})).optional(),
    tools: z.array(z.looseObject({})).optional(),
  });
  for (const v of V1_ROUTES) {
    const metered = v.kind === 'messages';
    r.registerPath({
      method: v.method === 'POST' ? 'post' : 'get',
      path: v.path,
      tags: ['anthropic'],
      summary: metered
        ? 'The Messages API (JSON or SSE), metered: passed through to Anthropic with the platform key'
        : 'Passed through to the Anthropic API, not metered',
      security: instance,
      ...(v.path === '/v1/models/{model_id}'
        ? { request: { params: z.object({ model_id: z.string() }) } }
        : {}),
      ...(v.method === 'POST'
        ? {
            request: {
              body: {
                content: { 'application/json': { schema: metered ? messagesBody : z.looseObject({}) } },
              },
            },
          }
        : {}),
      responses: {
        200: {
          description: metered
            ? `the API's answer, byte for byte (\`text/event-stream\` when \`stream\` is true); \`${PROXY_HEADERS.maxTokensCapped}\` is set when the budget left lowered max_tokens`
            : "the API's answer, byte for byte",
          headers: metered
            ? {
                [PROXY_HEADERS.maxTokensCapped]: {
                  schema: { type: 'string' as const },
                  description: 'max_tokens sent upstream',
                },
                [PROXY_HEADERS.maxTokensRequested]: {
                  schema: { type: 'string' as const },
                  description: 'max_tokens asked for',
                },
              }
            : undefined,
          content: {
            'application/json': { schema: z.looseObject({}) },
            ...(metered ? { 'text/event-stream': { schema: z.string() } } : {}),
          },
        },
        400: refusalOrUpstream('invalid body, unpriced model, or a server tool the proxy cannot bound'),
        401: refusalOrUpstream('no key, or not an instance token'),
        405: refusal('a method this path does not serve'),
        408: refusal('the body did not arrive within BODY_TIMEOUT'),
        413: refusalOrUpstream('body over MAX_REQUEST_BYTES'),
        429: refusalOrUpstream('a budget, or the requests in flight'),
        502: refusalOrUpstream('the upstream could not be reached'),
        503: refusalOrUpstream('no platform key and no key of the user’s own'),
        ...passthrough,
      },
    });
  }

  return api.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Matrix OS LLM proxy',
      version: '0.1.0',
      description:
        'Metered Anthropic Messages API passthrough with per-instance keys, usage, cost and budgets (docs/proxy.md). ' +
        'Refusals by the proxy carry a machine-readable `error.code`. Budget notices are POSTed to BUDGET_WEBHOOK_URL ' +
        'as `BudgetNotice` (`@matrixos/proxy/contract`).',
    },
    servers: serverUrl ? [{ url: serverUrl }] : undefined,
  });
}
