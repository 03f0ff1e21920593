import { readJson } from '@matrixos/shared';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Activity } from '../lifecycle/activity.ts';
import type { JobWakes } from './jobWakes.ts';
import type { InstanceEnv } from './requireInstance.ts';

/** The gateway's report (packages/gateway/src/jobs/platformReport.ts sends it). */
export const nextDueBody = z.strictObject({
  at: z.iso.datetime({ offset: true }).nullable(),
  /** Runs in progress: a report with runs counts as activity (the idle timer waits). */
  running: z.number().int().min(0).max(10_000).default(0),
});

/** `PUT /instance/v1/jobs/next-due`: the calling instance's own next due time, nobody else's. */
export function instanceJobRoutes(deps: { wakes: JobWakes; activity: Activity }) {
  return new Hono<InstanceEnv>().put('/instance/v1/jobs/next-due', async (c) => {
    const handle = c.var.instance;
    const { at, running } = await readJson(c, nextDueBody);
    const when = at === null ? null : Date.parse(at);
    deps.wakes.set(handle, when);
    if (running > 0) deps.activity.touch(handle);
    return c.json({ handle, nextDueAt: when === null ? null : new Date(when).toISOString() });
  });
}
