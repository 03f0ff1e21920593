import { ACTIVITY_PATH, activityReportBody } from '@matrixos/shared';
import { z } from 'zod';
import { nextDueBody } from '../../instanceApi/jobRoutes.ts';
import {
  badBody,
  failure,
  INSTANCE_API,
  json,
  jsonBody,
  type OpenAPIRegistry,
  rateLimited,
} from './common.ts';

export { INSTANCE_API };

/** The jobs half of the instance API (`instanceApi/jobRoutes.ts`, docs/jobs.md); social.ts has the rest. */
export function registerInstanceApi(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'put',
    path: '/instance/v1/jobs/next-due',
    tags: [INSTANCE_API],
    summary: "this instance's next due job (the platform wakes it then if it sleeps)",
    security: [{ instanceToken: [] }],
    request: { body: jsonBody(nextDueBody) },
    responses: {
      401: failure('no or a wrong instance token (`unauthorized`)'),
      ...rateLimited,
      200: json('recorded', z.object({ handle: z.string(), nextDueAt: z.iso.datetime().nullable() })),
      ...badBody,
    },
  });
  registry.registerPath({
    method: 'put',
    path: ACTIVITY_PATH,
    tags: [INSTANCE_API],
    summary: "this instance's own use, for the idle sweep (the edge routes requests past the platform)",
    security: [{ instanceToken: [] }],
    request: { body: jsonBody(activityReportBody) },
    responses: {
      401: failure('no or a wrong instance token (`unauthorized`)'),
      ...rateLimited,
      200: json('recorded', z.object({ handle: z.string(), openSockets: z.number().int() })),
      ...badBody,
    },
  });
}
