import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Settlement } from '../budget/Ledger.ts';

const LATENCY_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];

/** The token kinds of a usage record, as the `kind` label names them. */
const TOKEN_KINDS = [
  ['inputTokens', 'input'],
  ['outputTokens', 'output'],
  ['cacheWrite5mTokens', 'cache_write_5m'],
  ['cacheWrite1hTokens', 'cache_write_1h'],
  ['cacheReadTokens', 'cache_read'],
] as const;

/**
 * A model id as a label: the priced family without its dated snapshot (`-YYYYMMDD`). Only models
 * in the price table get this far, so the label has as many values as that table has rows.
 */
export function modelLabel(model: string): string {
  return model.replace(/-\d{8}$/, '');
}

/**
 * The proxy's Prometheus metrics (`GET /metrics`, admin token): requests, tokens and cost by
 * model, budget refusals, requests in flight, upstream latency. No handle label: per-user spend
 * is in the usage API, which is made for it.
 */
export function createProxyMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  const registers = [registry];
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'matrixos_proxy_requests_total',
    help: 'Metered /v1/messages requests settled, by model and outcome (ok, upstream_error, upstream_unreachable, stream_error, client_disconnect)',
    labelNames: ['model', 'outcome'],
    registers,
  });
  const tokens = new Counter({
    name: 'matrixos_proxy_tokens_total',
    help: 'Tokens billed, by model and kind (input, output, cache_write_5m, cache_write_1h, cache_read)',
    labelNames: ['model', 'kind'],
    registers,
  });
  const cost = new Counter({
    name: 'matrixos_proxy_cost_usd_total',
    help: 'Cost billed in US dollars, by model',
    labelNames: ['model'],
    registers,
  });
  const refusals = new Counter({
    name: 'matrixos_proxy_refusals_total',
    help: 'Requests refused before reaching the API, by refusal code (budget_exhausted, too_many_in_flight, server_tool_in_flight, ...)',
    labelNames: ['reason'],
    registers,
  });
  const inFlight = new Gauge({
    name: 'matrixos_proxy_in_flight_requests',
    help: 'Metered requests admitted and not yet settled',
    registers,
  });
  const upstreamSeconds = new Histogram({
    name: 'matrixos_proxy_upstream_response_seconds',
    help: "Time from admission to the Anthropic API's response headers, by model",
    labelNames: ['model'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const durationSeconds = new Histogram({
    name: 'matrixos_proxy_request_duration_seconds',
    help: 'Time from admission to settlement (the whole answer, streamed or not), by model and outcome',
    labelNames: ['model', 'outcome'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  refusals.labels('budget');
  refusals.labels('in_flight');

  return {
    registry,
    scrape: () => registry.metrics(),
    contentType: registry.contentType,
    refused(reason: string): void {
      refusals.inc({ reason });
    },
    admitted(): void {
      inFlight.inc();
    },
    upstreamResponded(model: string, seconds: number): void {
      upstreamSeconds.observe({ model: modelLabel(model) }, seconds);
    },
    settled(model: string, s: Settlement, seconds: number): void {
      const m = modelLabel(model);
      inFlight.dec();
      requests.inc({ model: m, outcome: s.outcome });
      durationSeconds.observe({ model: m, outcome: s.outcome }, seconds);
      for (const [field, kind] of TOKEN_KINDS)
        if (s.usage[field] > 0) tokens.inc({ model: m, kind }, s.usage[field]);
      if (s.costMicros > 0) cost.inc({ model: m }, s.costMicros / 1_000_000);
    },
  };
}

export type ProxyMetrics = ReturnType<typeof createProxyMetrics>;
