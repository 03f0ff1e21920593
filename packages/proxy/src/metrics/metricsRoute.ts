import { Hono } from 'hono';
import { requireAdmin } from '../keys/auth.ts';
import type { KeyStore } from '../keys/KeyStore.ts';
import type { ProxyMetrics } from './proxyMetrics.ts';

/**
 * `GET /metrics`, Prometheus text format, for the admin token only: the proxy listens where
 * instances reach it, and an instance's own key (or no key) must not read everyone's traffic.
 * Without `PLATFORM_ADMIN_TOKEN` it refuses, like the rest of the admin API.
 */
export function metricsRoute(metrics: ProxyMetrics, keys: KeyStore, adminToken: string | null) {
  return new Hono().get('/metrics', async (c) => {
    requireAdmin(c, adminToken, keys);
    return c.body(await metrics.scrape(), 200, {
      'content-type': metrics.contentType,
      'cache-control': 'no-store',
    });
  });
}
