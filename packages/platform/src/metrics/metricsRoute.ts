import { Hono } from 'hono';
import type { RateLimiter } from '../accounts/rateLimiter.ts';
import { clientIp } from '../api/clientIp.ts';
import { rateLimited } from '../api/rateLimited.ts';
import type { PlatformMetrics } from './platformMetrics.ts';

/** A scrape every second from one address is plenty (Prometheus scrapes every 15 s or so). */
const SCRAPES_PER_MINUTE = 120;

/**
 * `GET /metrics`, Prometheus text format. Mounted among the admin routes: it needs the admin
 * token (`Authorization: Bearer`) or an admin's session; an anonymous caller gets a 401 and no
 * numbers (instance counts and sign-in failures are not for the public).
 */
export function metricsRoute(deps: { metrics: PlatformMetrics; limiter: RateLimiter; trustProxy: boolean }) {
  return new Hono().get('/metrics', async (c) => {
    const r = deps.limiter.hit(`metrics:${clientIp(c, deps.trustProxy)}`, SCRAPES_PER_MINUTE, 60_000);
    if (!r.ok) throw rateLimited(r.retryAfterMs);
    const text = await deps.metrics.scrape();
    return c.body(text, 200, { 'content-type': deps.metrics.contentType, 'cache-control': 'no-store' });
  });
}
