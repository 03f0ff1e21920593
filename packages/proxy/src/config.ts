import path from 'node:path';
import { bytes, duration, parseEnv, port } from '@matrixos/shared';
import { z } from 'zod';
import { usdToMicros } from './pricing/money.ts';

const usd = z.coerce.number().min(0).max(1_000_000);

/**
 * Every setting of the proxy, from the environment (twelve-factor). The table in docs/proxy.md
 * documents them; keep the two in step.
 */
const schema = z.object({
  PROXY_PORT: port(8080),
  /** All interfaces: instance containers reach the proxy over their network, not loopback. */
  PROXY_HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().default('./data'),
  PROXY_DB: z.string().optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_UPSTREAM_URL: z
    .url({ protocol: /^https?$/ })
    .default('https://api.anthropic.com')
    .transform((v) => v.replace(/\/+$/, '')),
  PLATFORM_ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  /** 32 bytes as 64 hex digits or base64; seals users' own Anthropic keys. */
  PROXY_SECRET_KEY: z.string().optional(),
  FREE_TIER_USD: usd.default(5),
  DAILY_LIMIT_USD: usd.optional(),
  MONTHLY_LIMIT_USD: usd.optional(),
  MAX_INFLIGHT_PER_USER: z.coerce.number().int().min(1).max(100_000).default(5),
  BUDGET_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  UPSTREAM_TIMEOUT: duration('10m'),
  DISCONNECT_GRACE: duration('30s'),
  MAX_REQUEST_BYTES: bytes('32m'),
  /** From the headers to the last byte of a request's body; a slower body is dropped (408). */
  BODY_TIMEOUT: duration('30s'),
  /** Longest wait for a request's headers. */
  HEADERS_TIMEOUT: duration('10s'),
  /** Largest request head (request line and headers); larger ones get 431. */
  MAX_HEADER_BYTES: bytes('16k'),
  /** The fewest output tokens a request is capped to when the budget cannot cover its `max_tokens`. */
  MIN_CAPPED_TOKENS: z.coerce.number().int().min(1).max(100_000).default(128),
  /** How often a stream's usage so far is written to its row, so a crash bills what streamed. */
  USAGE_RECORD_INTERVAL: duration('1s'),
});

export type ProxyConfig = ReturnType<typeof loadConfig>;

export function loadConfig(env: Record<string, string | undefined> = process.env) {
  const c = parseEnv(schema, env);
  const dataDir = path.resolve(c.DATA_DIR);
  const micros = (v: number | undefined) => (v === undefined ? null : usdToMicros(v));
  return {
    port: c.PROXY_PORT,
    host: c.PROXY_HOST,
    dataDir,
    dbFile: c.PROXY_DB ?? path.join(dataDir, 'proxy.db'),
    secretKey: c.PROXY_SECRET_KEY,
    upstream: {
      url: c.ANTHROPIC_UPSTREAM_URL,
      apiKey: c.ANTHROPIC_API_KEY ?? null,
      timeoutMs: c.UPSTREAM_TIMEOUT,
    },
    adminToken: c.PLATFORM_ADMIN_TOKEN ?? null,
    defaultLimits: {
      totalMicros: micros(c.FREE_TIER_USD),
      dailyMicros: micros(c.DAILY_LIMIT_USD),
      monthlyMicros: micros(c.MONTHLY_LIMIT_USD),
    },
    maxInFlight: c.MAX_INFLIGHT_PER_USER,
    webhookUrl: c.BUDGET_WEBHOOK_URL ?? null,
    disconnectGraceMs: c.DISCONNECT_GRACE,
    maxRequestBytes: c.MAX_REQUEST_BYTES,
    bodyTimeoutMs: c.BODY_TIMEOUT,
    headersTimeoutMs: c.HEADERS_TIMEOUT,
    maxHeaderBytes: c.MAX_HEADER_BYTES,
    minCappedTokens: c.MIN_CAPPED_TOKENS,
    recordIntervalMs: c.USAGE_RECORD_INTERVAL,
  };
}
