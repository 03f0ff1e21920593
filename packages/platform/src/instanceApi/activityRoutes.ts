import { ACTIVITY_PATH, activityReportBody, readJson } from '@matrixos/shared';
import { Hono } from 'hono';
import type { Activity } from '../lifecycle/activity.ts';
import type { InstanceEnv } from './requireInstance.ts';

/**
 * `PUT /instance/v1/activity`: the calling instance's own use, for the idle sweep (the native edge
 * routes its requests past the router, which used to be where activity was seen).
 */
export function instanceActivityRoutes(deps: { activity: Activity }) {
  return new Hono<InstanceEnv>().put(ACTIVITY_PATH, async (c) => {
    const handle = c.var.instance;
    const report = await readJson(c, activityReportBody);
    deps.activity.report(handle, {
      openSockets: report.openSockets,
      lastActiveAt: Date.parse(report.lastActiveAt),
    });
    return c.json({ handle, openSockets: report.openSockets });
  });
}
