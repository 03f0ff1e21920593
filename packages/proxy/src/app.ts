import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { errorHandler, type Logger, notFoundHandler, type Sealer } from '@matrixos/shared';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createLedger } from './budget/Ledger.ts';
import { type BudgetNotifier, logNotifier, webhookNotifier } from './budget/notifier.ts';
import { quotaRoutes } from './budget/routes.ts';
import type { ProxyConfig } from './config.ts';
import type { Db } from './db/openDb.ts';
import { createKeyStore } from './keys/KeyStore.ts';
import { keyRoutes } from './keys/routes.ts';
import { metricsRoute } from './metrics/metricsRoute.ts';
import { createProxyMetrics, type ProxyMetrics } from './metrics/proxyMetrics.ts';
import type { Price } from './pricing/prices.ts';
import { createV1Handler } from './upstream/v1Handler.ts';
import { usageRoutes } from './usage/routes.ts';

export interface ProxyDeps {
  db: Db;
  config: ProxyConfig;
  log: Logger;
  /** Seals users' own Anthropic keys (main.ts loads its key: PROXY_SECRET_KEY or a file in DATA_DIR). */
  sealer: Sealer;
  /** Defaults to the webhook when `BUDGET_WEBHOOK_URL` is set, else to the log. */
  notifier?: BudgetNotifier;
  now?: () => number;
  prices?: readonly Price[];
  /** Prometheus metrics (`GET /metrics`); made here if absent. */
  metrics?: ProxyMetrics;
}

export type ProxyApp = ReturnType<typeof createProxyApp>;

/**
 * The proxy: `/v1/*` to the Anthropic API on a raw `node:http` path, everything else (keys,
 * usage, quotas, health) on Hono. Serve `listener` with `http.createServer`. Creating it releases
 * reservations left behind by a previous process that died with requests in flight.
 */
export function createProxyApp(deps: ProxyDeps) {
  const { db, config, log } = deps;
  const now = deps.now ?? Date.now;
  const keys = createKeyStore(db, deps.sealer, now);
  const ledger = createLedger({ db, defaults: config.defaultLimits, maxInFlight: config.maxInFlight, now });
  const notifier =
    deps.notifier ??
    (config.webhookUrl
      ? webhookNotifier({ url: config.webhookUrl, adminToken: config.adminToken, log })
      : logNotifier(log));

  const released = ledger.releaseInterrupted();
  if (released > 0) log.warn({ released }, 'released reservations of requests cut off by the last shutdown');

  const app = new Hono();
  app.onError(errorHandler(log));
  app.notFound(notFoundHandler);
  app.use(bodyLimit({ maxSize: 64 * 1024 }));

  app.get('/health', (c) => {
    let dbOk = true;
    try {
      db.get(sql`select 1`);
    } catch {
      dbOk = false;
    }
    return c.json(
      {
        status: dbOk ? 'ok' : 'degraded',
        db: dbOk ? 'ok' : 'error',
        upstream: { url: config.upstream.url, platformKey: config.upstream.apiKey !== null },
        adminApi: config.adminToken !== null,
      },
      dbOk ? 200 : 503,
    );
  });
  app.route('/', keyRoutes(keys, config.adminToken));
  app.route('/', usageRoutes(db, ledger, keys, config.adminToken, now));
  app.route('/', quotaRoutes(ledger, keys, config.adminToken));
  const metrics = deps.metrics ?? createProxyMetrics();
  app.route('/', metricsRoute(metrics, keys, config.adminToken));

  const v1 = createV1Handler({
    upstreamUrl: config.upstream.url,
    platformKey: config.upstream.apiKey,
    timeoutMs: config.upstream.timeoutMs,
    disconnectGraceMs: config.disconnectGraceMs,
    maxRequestBytes: config.maxRequestBytes,
    keys,
    ledger,
    notifier,
    log,
    now,
    prices: deps.prices,
    metrics,
  });
  const rest = getRequestListener(app.fetch);
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url?.startsWith('/v1/')) v1(req, res);
    else void rest(req, res);
  };

  return { app, listener, keys, ledger, metrics };
}
