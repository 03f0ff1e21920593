import { z } from 'zod';

// The two calls between an instance's gateway and the platform that issue 15 added. Both bodies
// are small and bounded; each side imports these, neither retypes them.

/**
 * `POST {instance}/api/platform/revocations`, served by the gateway, called by the platform with
 * the instance's token: these instance sessions are over (sign-out everywhere, a demotion, a
 * deleted account). The gateway refuses their passes from now on and closes their sockets at once.
 */
export const REVOCATIONS_PATH = '/api/platform/revocations';
export const revocationsBody = z.strictObject({
  sessions: z.array(z.string().min(1).max(128)).min(1).max(1000),
});
export type Revocations = z.infer<typeof revocationsBody>;

/**
 * `PUT {platform}/instance/v1/activity`, served by the platform's instance API, called by the
 * gateway with its token: the edge routes requests past the platform, so the instance says when
 * it was last used and what it holds open; the idle sweep decides by it. Rate-bounded by the
 * gateway (`ACTIVITY_REPORT_EVERY_MS`) and by the platform.
 */
export const ACTIVITY_PATH = '/instance/v1/activity';
export const ACTIVITY_REPORT_EVERY_MS = 30_000;
export const activityReportBody = z.strictObject({
  /** Owner requests served since the previous report. */
  requests: z.number().int().min(0).max(1_000_000_000),
  /** WebSockets and event streams open now: while any is, the instance is in use. */
  openSockets: z.number().int().min(0).max(1_000_000),
  /** When the owner last did something, as the gateway saw it. */
  lastActiveAt: z.iso.datetime({ offset: true }),
});
export type ActivityReport = z.infer<typeof activityReportBody>;
