import { failure, HANDLE_RULES } from '@matrixos/shared';
import { z } from 'zod';

/**
 * Tag of the instance API's routes (its own listener, `INSTANCE_API_PORT`; not the platform origin).
 * Here, not in instanceApi.ts: social.ts needs it, and the instance image bundles social.ts and
 * this file only (instanceApi.ts imports the platform's job routes).
 */
export const INSTANCE_API = 'instance-api';

/** The shared pieces of every description (`@matrixos/shared`), and the platform's own below. */
export {
  badBody,
  errorBody,
  failure,
  json,
  jsonBody,
  type OpenAPIRegistry,
  type Responses,
  routeTable,
  type Security,
} from '@matrixos/shared';

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
    node: z
      .string()
      .nullable()
      .meta({ description: 'the node holding its data (swarm runtime); null on one-host runtimes' }),
  })
  .loose()
  .meta({ id: 'Instance' });

export const instanceReply = z.object({ instance: instanceView });
/** A rotated instance API token, shown only here (the old one is refused at once). */
export const rotatedReply = instanceReply.extend({ token: z.string() });

/** The answers every rate-limited step may give. */
export const rateLimited = { 429: failure('too many attempts (`rate_limited`, with `Retry-After`)') };
