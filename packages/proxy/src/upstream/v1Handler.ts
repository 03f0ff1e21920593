import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Logger } from '@matrixos/shared';
import { z } from 'zod';
import type { Ledger, Settlement } from '../budget/Ledger.ts';
import type { BudgetNotifier } from '../budget/notifier.ts';
import type { KeySource } from '../db/schema.ts';
import type { KeyStore } from '../keys/KeyStore.ts';
import type { ProxyMetrics } from '../metrics/proxyMetrics.ts';
import { costMicros, NO_USAGE, type TokenUsage } from '../pricing/cost.ts';
import { estimatedInputOnly, type MessagesRequest, worstCaseUsage } from '../pricing/estimate.ts';
import { findPrice, PRICES, type Price } from '../pricing/prices.ts';
import { SseParser } from '../sse/SseParser.ts';
import { UsageMeter } from '../usage/UsageMeter.ts';
import { sendAnthropicError } from './anthropicError.ts';
import { callerKey, clientHeaders, upstreamHeaders } from './headers.ts';

export interface V1Options {
  upstreamUrl: string;
  platformKey: string | null;
  timeoutMs: number;
  disconnectGraceMs: number;
  maxRequestBytes: number;
  keys: KeyStore;
  ledger: Ledger;
  notifier: BudgetNotifier;
  log: Logger;
  now: () => number;
  prices?: readonly Price[];
  metrics?: ProxyMetrics;
}

const messagesRequest = z.looseObject({
  model: z.string().min(1).max(256),
  max_tokens: z.number().int().positive().max(100_000_000),
  stream: z.boolean().optional(),
});

/** The API surface served. Anything else (batches, files...) would bypass metering, so it is refused. */
function routeOf(method: string | undefined, pathname: string): 'messages' | 'plain' | null {
  if (method === 'POST' && pathname === '/v1/messages') return 'messages';
  if (method === 'POST' && pathname === '/v1/messages/count_tokens') return 'plain';
  if (method === 'GET' && /^\/v1\/models(\/[^/]+)?$/.test(pathname)) return 'plain';
  return null;
}

/** The request body, or null when it is too large (answered here) or the caller left. */
function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        sendAnthropicError(res, 413, 'request_too_large', `request body is larger than ${limit} bytes`);
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks, size)));
    // A caller gone mid-body: 'close' without 'end' (after 'end' this resolve is a no-op).
    req.on('close', () => resolve(null));
    req.on('error', () => resolve(null));
  });
}

const FREE = {
  usageSource: 'none',
  usage: NO_USAGE,
  costMicros: 0,
  upstreamStatus: null,
  upstreamRequestId: null,
} as const;

/** What a metered exchange needs to settle. */
interface Metering {
  id: number;
  handle: string;
  model: string;
  stream: boolean;
  price: Price;
  worst: TokenUsage;
  startedAt: number;
}

/**
 * `/v1/*`: the hot path, on plain `node:http` (measured faster than going through Hono and
 * fetch, see docs/benchmarks.md). Upstream bytes are written to the caller as they arrive and
 * only then parsed, from a copy, for usage.
 */
export function createV1Handler(o: V1Options): (req: IncomingMessage, res: ServerResponse) => void {
  const base = new URL(o.upstreamUrl);
  const transport = base.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true });
  const basePath = base.pathname.replace(/\/$/, '');
  const prices = o.prices ?? PRICES;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const route = routeOf(req.method, url.pathname);
    if (!route) {
      req.resume();
      sendAnthropicError(
        res,
        404,
        'not_found_error',
        `${req.method} ${url.pathname} is not served by this proxy`,
      );
      return;
    }
    const key = callerKey(req.headers);
    const handle = key === null ? null : o.keys.handleFor(key);
    if (handle === null) {
      req.resume();
      sendAnthropicError(
        res,
        401,
        'authentication_error',
        key === null ? 'x-api-key header is required' : 'invalid x-api-key',
      );
      return;
    }
    const body = await readBody(req, res, o.maxRequestBytes);
    if (body === null || res.destroyed) return;

    const ownKey = o.keys.ownKey(handle);
    const keySource: KeySource = ownKey ? 'own' : 'platform';
    const apiKey = ownKey ?? o.platformKey;
    if (!apiKey) {
      sendAnthropicError(
        res,
        503,
        'api_error',
        'the platform has no Anthropic API key configured; set your own key',
      );
      return;
    }
    const target = {
      method: req.method ?? 'GET',
      path: basePath + url.pathname + url.search,
      headers: upstreamHeaders(req.headers, apiKey, body.length),
      body,
    };
    if (route === 'plain') {
      relay(req, res, target, null);
      return;
    }

    let parsed: MessagesRequest;
    try {
      const result = messagesRequest.safeParse(JSON.parse(body.toString('utf8')));
      if (!result.success) {
        const issues = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
        sendAnthropicError(res, 400, 'invalid_request_error', issues);
        return;
      }
      parsed = result.data;
    } catch {
      sendAnthropicError(res, 400, 'invalid_request_error', 'request body is not valid JSON');
      return;
    }
    const startedAt = o.now();
    const price = findPrice(parsed.model, new Date(startedAt), prices);
    if (!price) {
      sendAnthropicError(
        res,
        400,
        'invalid_request_error',
        `model "${parsed.model}" has no price in this proxy's price table, so it is refused rather than billed at $0`,
      );
      return;
    }
    const worst = worstCaseUsage(parsed, body.length);
    const stream = parsed.stream === true;
    const admission = o.ledger.admit({
      handle,
      model: parsed.model,
      keySource,
      stream,
      reserveMicros: costMicros(worst, price),
    });
    if (!admission.ok) {
      o.metrics?.refused(admission.reason);
      o.log.info({ handle, model: parsed.model, reason: admission.reason }, 'request refused');
      sendAnthropicError(res, 429, 'rate_limit_error', admission.message);
      return;
    }
    const metering = { id: admission.id, handle, model: parsed.model, stream, price, worst, startedAt };
    o.metrics?.admitted();
    try {
      relay(req, res, target, metering);
    } catch (err) {
      // Never leave a slot and a reservation behind.
      settle(metering, { ...FREE, outcome: 'upstream_unreachable' });
      throw err;
    }
  }

  function relay(
    req: IncomingMessage,
    res: ServerResponse,
    target: { method: string; path: string; headers: http.OutgoingHttpHeaders; body: Buffer },
    metering: Metering | null,
  ): void {
    const meter = new UsageMeter();
    const jsonChunks: Buffer[] = [];
    let upstream: IncomingMessage | null = null;
    let isSse = false;
    let upstreamEnded = false;
    let clientGone = false;
    let abortedForDisconnect = false;
    let done = false;
    let graceTimer: NodeJS.Timeout | undefined;

    const sse = new SseParser((_event, data) => {
      meter.onEvent(data);
      if (clientGone && meter.started) abortUpstream();
    });

    const upstreamReq = transport.request({
      protocol: base.protocol,
      hostname: base.hostname,
      port: base.port,
      path: target.path,
      method: target.method,
      headers: target.headers,
      agent,
    });
    upstreamReq.setTimeout(o.timeoutMs, () => upstreamReq.destroy(new Error('upstream timed out')));

    upstreamReq.on('response', (r) => {
      upstream = r;
      if (metering) o.metrics?.upstreamResponded(metering.model, (o.now() - metering.startedAt) / 1000);
      const status = r.statusCode ?? 502;
      isSse = status === 200 && (r.headers['content-type'] ?? '').startsWith('text/event-stream');
      if (!clientGone) res.writeHead(status, clientHeaders(r.headers));
      r.on('data', (chunk: Buffer) => {
        if (!clientGone && !res.write(chunk)) r.pause();
        if (!metering) return;
        if (isSse) sse.push(chunk);
        else if (status === 200) jsonChunks.push(chunk);
      });
      r.on('end', () => {
        upstreamEnded = true;
        if (isSse) sse.end();
        if (!clientGone) res.end();
      });
      r.on('error', () => {}); // a cut body ends in 'close', handled there
      r.on('close', finish);
      if (clientGone) onClientGone();
    });
    upstreamReq.on('error', (err) => {
      if (upstream) return;
      if (!abortedForDisconnect)
        o.log.warn({ err: err.message, path: target.path }, 'upstream request failed');
      if (!clientGone) sendAnthropicError(res, 502, 'api_error', 'the Anthropic API could not be reached');
    });
    upstreamReq.on('close', () => {
      if (!upstream) finish();
    });

    res.on('drain', () => upstream?.resume());
    res.on('close', () => {
      if (res.writableFinished || done) return;
      clientGone = true;
      onClientGone();
    });
    req.on('error', () => {});
    upstreamReq.end(target.body.length > 0 ? target.body : undefined);

    function abortUpstream(): void {
      if (done) return;
      abortedForDisconnect = true;
      upstreamReq.destroy();
    }

    /**
     * The caller left. A stream is stopped as soon as the API has said how long the prompt was
     * (at once if it already has, else within the grace period), so generation the user no longer
     * reads is not paid for; what was generated is billed. A JSON request cannot be cut short
     * upstream, so its response is read to the end and billed exactly.
     */
    function onClientGone(): void {
      if (done) return;
      upstream?.resume();
      if (metering?.stream === false) return;
      if (!metering || meter.started || (upstream && !isSse)) abortUpstream();
      else graceTimer ??= setTimeout(abortUpstream, o.disconnectGraceMs);
    }

    function finish(): void {
      if (done) return;
      done = true;
      clearTimeout(graceTimer);
      // The upstream broke off mid-body: break the caller's response too, so it is not taken as complete.
      if (!clientGone && !res.writableEnded) res.destroy();
      if (metering) settle(metering, settlementOf(metering));
    }

    function settlementOf(m: Metering): Settlement {
      const status = upstream?.statusCode ?? null;
      const requestId = upstream?.headers['request-id'];
      const base = {
        upstreamStatus: status,
        upstreamRequestId: typeof requestId === 'string' ? requestId : null,
      };
      const disconnected = clientGone ? ('client_disconnect' as const) : null;
      const free = (outcome: Settlement['outcome']): Settlement => ({ ...FREE, ...base, outcome });
      const billed = (
        outcome: Settlement['outcome'],
        usageSource: Settlement['usageSource'],
        usage: TokenUsage,
      ) => ({
        ...base,
        outcome,
        usageSource,
        usage,
        costMicros: costMicros(usage, m.price),
      });

      if (status === null) {
        // Stopped by us while the API was (probably) reading the prompt: bill the prompt.
        if (abortedForDisconnect)
          return billed('client_disconnect', 'estimated', estimatedInputOnly(m.worst));
        return free(disconnected ?? 'upstream_unreachable');
      }
      // The API bills no request it refused.
      if (status !== 200) return free('upstream_error');
      if (!isSse) {
        if (upstreamEnded) meter.onMessage(Buffer.concat(jsonChunks).toString('utf8'));
        const r = meter.result();
        if (r.source === 'reported') return billed(disconnected ?? 'ok', 'reported', r.usage);
        // A 200 whose body broke off or made no sense: it may have cost up to the reservation.
        return billed('upstream_error', 'estimated', m.worst);
      }
      const r = meter.result();
      const outcome =
        disconnected ?? (meter.error || !upstreamEnded || r.source !== 'reported' ? 'stream_error' : 'ok');
      if (r.source === 'none') {
        return abortedForDisconnect
          ? billed(outcome, 'estimated', estimatedInputOnly(m.worst))
          : free(outcome);
      }
      return billed(outcome, r.source, r.usage);
    }
  }

  function settle(m: Metering, s: Settlement): void {
    const notices = o.ledger.settle(m.id, s);
    o.metrics?.settled(m.model, s, (o.now() - m.startedAt) / 1000);
    // Debug, not info: the requests table already records each request, and a log line per
    // request costs a write on the hot path.
    o.log.debug(
      {
        handle: m.handle,
        model: m.model,
        status: s.upstreamStatus,
        outcome: s.outcome,
        usage: s.usageSource,
        costMicros: s.costMicros,
        ms: o.now() - m.startedAt,
      },
      'request settled',
    );
    for (const n of notices) {
      o.notifier.notify(n).catch((err) => o.log.warn({ err }, 'budget notice failed'));
    }
  }

  return (req, res) => {
    handle(req, res).catch((err) => {
      o.log.error({ err, path: req.url }, 'proxy error');
      sendAnthropicError(res, 500, 'api_error', 'internal proxy error');
    });
  };
}
