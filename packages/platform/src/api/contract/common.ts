import type { OpenAPIHono, RouteConfig } from '@hono/zod-openapi';
import { z } from 'zod';
import { HANDLE_RULES } from '../../handles/validateHandle.ts';

/** `{"error": {"code", "message", ...details}}`: every 4xx and 5xx of every API here. */
export const errorBody = z
  .object({
    error: z
      .object({
        code: z
          .string()
          .meta({ description: 'machine-readable, stable (`invalid_handle`, `rate_limited`, ...)' }),
        message: z.string().meta({ description: 'for people; may change' }),
      })
      .loose(),
  })
  .meta({ id: 'Error' });

/** A JSON response with this schema. */
export function json<S extends z.ZodType>(description: string, schema: S) {
  return { description, content: { 'application/json': { schema } } };
}

/** An error response (the shape above). */
export const failure = (description: string) => json(description, errorBody);

/** A handle in a path: what the parameter should be, for documentation and generated requests. */
export const handleParam = z.object({
  handle: z
    .string()
    .min(3)
    .max(30)
    .regex(/^[a-z][a-z0-9-]*[a-z0-9]$/)
    .meta({ description: HANDLE_RULES, example: 'alice' }),
});

export const instanceState = z.enum(['provisioning', 'running', 'paused', 'stopped']);

/** An instance as the API shows it (`instances/toView.ts`): never its secrets. */
export const instanceView = z
  .object({
    handle: z.string(),
    state: instanceState,
    url: z.string().meta({ description: 'where its owner reaches it: `{handle}.{domain}`' }),
    runtime: z.string().meta({ description: 'the engine it runs on: `docker`, `process`, ...' }),
    engineId: z.string().nullable(),
    image: z.string(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    lastActiveAt: z.iso.datetime(),
    lastError: z.string().nullable(),
  })
  .loose()
  .meta({ id: 'Instance' });

export const instanceReply = z.object({ instance: instanceView });

/** The answers every rate-limited step may give. */
export const rateLimited = { 429: failure('too many attempts (`rate_limited`, with `Retry-After`)') };

/** What any body-reading route answers to a bad or oversized body. */
export const badBody = {
  400: failure('not JSON (`invalid_json`) or not the expected shape (`invalid_body`, with `issues`)'),
  413: failure('the body is larger than this route accepts (`body_too_large`)'),
};

/** A JSON request body with this schema. */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return { required: true, content: { 'application/json': { schema } } };
}

/** Where the contract modules register their paths: the serving app's `openAPIRegistry`. */
export type OpenAPIRegistry = OpenAPIHono['openAPIRegistry'];

/** A route's answers, by status. */
export type Responses = RouteConfig['responses'];

/** Which of the document's security schemes a route takes (any one of them). */
export type Security = Record<string, string[]>[];
