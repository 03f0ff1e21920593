import http, { type IncomingMessage, type ServerResponse } from 'node:http';
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
import { proxyOpenApi } from './openapi.ts';
import { costMicros } from './pricing/cost.ts';
import { findPrice, PRICES, type Price } from './pricing/prices.ts';
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

/** Whether a Hono route path (`/keys/:handle`) matches a request path. */
function matches(route: string, path: string): boolean {
  const a = route.split('/');
  const b = path.split('/');
  return a.length === b.length && a.every((part, i) => (part.startsWith(':') ? b[i] !== '' : part === b[i]));
}

/**
 * The proxy: `/v1/*` to the Anthropic API on a raw `node:http` path, everything else (keys,
 * usage, quotas, health) on Hono. Serve `listener` with `createProxyServer`. Creating it settles
 * the requests a previous process left in flight when it died, at the usage they had recorded.
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

  const prices = deps.prices ?? PRICES;
  // Billed what the upstream had reported when the last process died (see Ledger.record).
  const interrupted = ledger.settleInterrupted((row, usage) => {
    const price = findPrice(row.model, new Date(row.startedAt), prices);
    return price ? costMicros(usage, price) : 0;
  });
  if (interrupted.count > 0)
    log.warn(
      { interrupted: interrupted.count },
      'settled requests cut off by the last shutdown at the usage they had recorded',
    );

  const app = new Hono();
  app.onError(errorHandler(log));
  app.notFound((c) => {
    // A path the proxy serves, asked with a method it does not: 405 with the methods it has.
    const allow = [
      ...new Set(
        app.routes.filter((r) => r.method !== 'ALL' && matches(r.path, c.req.path)).map((r) => r.method),
      ),
    ];
    if (allow.length === 0) return notFoundHandler(c);
    return c.json(
      { error: { code: 'method_not_allowed', message: `${c.req.method} is not served on ${c.req.path}` } },
      405,
      { allow: [...allow, ...(allow.includes('GET') ? ['HEAD'] : [])].join(', ') },
    );
  });
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
  // Public, like the API's own documentation; built once.
  const description = proxyOpenApi();
  app.get('/openapi.json', (c) => c.json(description));
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
    bodyTimeoutMs: config.bodyTimeoutMs,
    maxInFlight: config.maxInFlight,
    minCappedTokens: config.minCappedTokens,
    recordIntervalMs: config.recordIntervalMs,
    keys,
    ledger,
    notifier,
    log,
    now,
    prices,
    metrics,
  });
  const rest = getRequestListener(app.fetch);
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url?.startsWith('/v1/')) v1(req, res);
    else void rest(req, res);
  };

  for (const n of interrupted.notices)
    notifier.notify(n).catch((err) => log.warn({ err }, 'budget notice failed'));

  return { app, listener, keys, ledger, metrics };
}

/**
 * The proxy's HTTP server, with the limits that apply before any route runs: the size of a
 * request's head and how long its headers and its whole body may take (a backstop for the
 * routes' own body timeout).
 */
export function createProxyServer(
  proxy: { listener: http.RequestListener },
  config: ProxyConfig,
): http.Server {
  const server = http.createServer(
    {
      maxHeaderSize: config.maxHeaderBytes,
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.headersTimeoutMs + config.bodyTimeoutMs + 5_000,
      connectionsCheckingInterval: 1_000,
    },
    proxy.listener,
  );
  // Node's own answers to a head too large, too slow or malformed, in the API's JSON shape.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const [status, reason, code, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [
            431,
            'Request Header Fields Too Large',
            'headers_too_large',
            `the request head is larger than ${config.maxHeaderBytes} bytes`,
          ]
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'request_timeout', 'the request did not arrive in time']
          : [400, 'Bad Request', 'bad_request', 'malformed HTTP request'];
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  return server;
}
