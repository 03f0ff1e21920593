import type { OpenAPIHono, RouteConfig } from '@hono/zod-openapi';
import { z } from 'zod';

/**
 * The pieces every package's API description is made of (`contract/` folders): the one error
 * shape of `errors.ts`, and helpers that keep the route tables short.
 */

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

/** A JSON request body with this schema. */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return { required: true, content: { 'application/json': { schema } } };
}

/** What any body-reading route answers to a bad or oversized body. */
export const badBody = {
  400: failure('not JSON (`invalid_json`) or not the expected shape (`invalid_body`, with `issues`)'),
  413: failure('the body is larger than this route accepts (`body_too_large`)'),
};

/** Where the contract modules register their paths: the serving app's `openAPIRegistry`. */
export type OpenAPIRegistry = OpenAPIHono['openAPIRegistry'];

/** A route's answers, by status. */
export type Responses = RouteConfig['responses'];

/** Which of the document's security schemes a route takes (any one of them). */
export type Security = Record<string, string[]>[];

/** The methods our route tables use. */
export type Method = 'get' | 'head' | 'post' | 'put' | 'delete';

/**
 * One group's `route(method, path, summary, responses, request?, security?)`: its routes share
 * tags, security (a route may pass its own, `null` for none) and the answers every one of them
 * can give (`common`: e.g. 401 for all, 403 `bad_origin` for writes only).
 */
export function routeTable(
  registry: OpenAPIRegistry,
  group: {
    tags: string[];
    security?: Security;
    common?: (method: Method, security: Security | null) => Responses;
  },
) {
  return (
    method: Method,
    path: string,
    summary: string,
    responses: Responses,
    request: Record<string, unknown> = {},
    security: Security | null = group.security ?? null,
  ) =>
    registry.registerPath({
      method,
      path,
      tags: group.tags,
      summary,
      request,
      ...(security ? { security } : {}),
      responses: { ...group.common?.(method, security), ...responses },
    });
}

/**
 * Hono's path as OpenAPI writes it: `/a/:b{re}/*` is `/a/{b}/{path}`. The route-coverage tests
 * compare what an app serves (`hono/dev`'s `inspectRoutes`) with its document through this.
 */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}').replace(/\/\*$/, '/{path}');
}
