import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Logger } from '@matrixos/shared';
import { z } from 'zod';
import type { Ledger, Settlement } from '../budget/Ledger.ts';
import type { BudgetNotifier } from '../budget/notifier.ts';
import { PROXY_HEADERS } from '../contract/refusals.ts';
import type { KeySource } from '../db/schema.ts';
import type { KeyStore } from '../keys/KeyStore.ts';
import type { ProxyMetrics } from '../metrics/proxyMetrics.ts';
import { costMicros, NO_USAGE, type TokenUsage } from '../pricing/cost.ts';
import {
  estimatedInputOnly,
  type MessagesRequest,
  serverToolsOf,
  usesServerTools,
  worstCaseUsage,
} from '../pricing/estimate.ts';
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
  /** How long a request's body may take to arrive once its headers are in (slow bodies are dropped). */
  bodyTimeoutMs: number;
  /** Requests one instance may have in flight (the ledger counts Messages requests; this, the rest). */
  maxInFlight: number;
  /** The fewest output tokens a request is capped to when the budget cannot cover its `max_tokens`. */
  minCappedTokens: number;
  /** Longest wait between two writes of a stream's usage-so-far to its row (for a crash mid-stream). */
  recordIntervalMs: number;
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

const tooLarge = (limit: number) => `request body is larger than ${limit} bytes`;

/**
 * The API surface served (the OpenAPI description lists the same). Anything else (batches,
 * files...) would bypass metering, so it is refused.
 */
export const V1_ROUTES = [
  { method: 'POST', path: '/v1/messages', pattern: /^\/v1\/messages$/, kind: 'messages' },
  {
    method: 'POST',
    path: '/v1/messages/count_tokens',
    pattern: /^\/v1\/messages\/count_tokens$/,
    kind: 'plain',
  },
  { method: 'GET', path: '/v1/models', pattern: /^\/v1\/models$/, kind: 'plain' },
  { method: 'GET', path: '/v1/models/{model_id}', pattern: /^\/v1\/models\/[^/]+$/, kind: 'plain' },
] as const;

function routeOf(method: string | undefined, pathname: string): 'messages' | 'plain' | null {
  return V1_ROUTES.find((r) => r.method === method && r.pattern.test(pathname))?.kind ?? null;
}

type BodyResult = { ok: true; body: Buffer } | { ok: false; why: 'too_large' | 'timeout' | 'gone' };

/**
 * The request body, read only after admission, refused as soon as it passes `limit` and dropped
 * when it has not arrived within `timeoutMs` (a slow body holds a slot and memory otherwise).
 */
function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const done = (r: BodyResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.removeListener('data', onData);
      if (!r.ok) chunks.length = 0;
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, why: 'timeout' }), timeoutMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        done({ ok: false, why: 'too_large' });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => done({ ok: true, body: Buffer.concat(chunks, size) }));
    // A caller gone mid-body: 'close' without 'end'.
    req.on('close', () => done({ ok: false, why: 'gone' }));
    req.on('error', () => done({ ok: false, why: 'gone' }));
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

  /** Plain routes (models, count_tokens) hold no ledger row: their slots are counted here. */
  const plainInFlight = new Map<string, number>();

  /** The body, or null once the refusal (413, 408) is answered. */
  async function bodyOf(req: IncomingMessage, res: ServerResponse): Promise<Buffer | null> {
    const r = await readBody(req, o.maxRequestBytes, o.bodyTimeoutMs);
    if (r.ok) return r.body;
    if (r.why === 'too_large')
      sendAnthropicError(res, 413, 'request_too_large', 'body_too_large', tooLarge(o.maxRequestBytes), {
        discard: true,
      });
    else if (r.why === 'timeout')
      sendAnthropicError(
        res,
        408,
        'timeout_error',
        'body_timeout',
        `the request body did not arrive within ${o.bodyTimeoutMs} ms`,
        { discard: true },
      );
    return null;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const route = routeOf(req.method, url.pathname);
    // Every refusal before admission leaves the body unread and closes the connection: nothing
    // a caller sends is buffered until the key, the slots and the budget say it may be.
    const early = { discard: true };
    if (!route) {
      // A served path with another method is a 405 naming the methods it has.
      const allow = V1_ROUTES.filter((r) => r.pattern.test(url.pathname)).map((r) => r.method);
      if (allow.length > 0) res.setHeader('allow', allow.join(', '));
      sendAnthropicError(
        res,
        allow.length > 0 ? 405 : 404,
        allow.length > 0 ? 'invalid_request_error' : 'not_found_error',
        'not_served',
        `${req.method} ${url.pathname} is not served by this proxy`,
        early,
      );
      return;
    }
    const key = callerKey(req.headers);
    const handle = key === null ? null : o.keys.handleFor(key);
    if (handle === null) {
      sendAnthropicError(
        res,
        401,
        'authentication_error',
        key === null ? 'missing_key' : 'invalid_key',
        key === null ? 'x-api-key header is required' : 'invalid x-api-key',
        early,
      );
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > o.maxRequestBytes) {
      sendAnthropicError(res, 413, 'request_too_large', 'body_too_large', tooLarge(o.maxRequestBytes), early);
      return;
    }
    const ownKey = o.keys.ownKey(handle);
    const keySource: KeySource = ownKey ? 'own' : 'platform';
    const apiKey = ownKey ?? o.platformKey;
    if (!apiKey) {
      sendAnthropicError(
        res,
        503,
        'api_error',
        'no_upstream_key',
        'the platform has no Anthropic API key configured; set your own key',
        early,
      );
      return;
    }
    const target = (body: Buffer) => ({
      method: req.method ?? 'GET',
      path: basePath + url.pathname + url.search,
      headers: upstreamHeaders(req.headers, apiKey, body.length),
      body,
    });

    if (route === 'plain') {
      const busy = plainInFlight.get(handle) ?? 0;
      if (busy >= o.maxInFlight) {
        o.metrics?.refused('too_many_in_flight');
        sendAnthropicError(
          res,
          429,
          'rate_limit_error',
          'too_many_in_flight',
          `too many requests in flight: at most ${o.maxInFlight} at a time per instance`,
          early,
        );
        return;
      }
      plainInFlight.set(handle, busy + 1);
      const release = () => {
        const n = (plainInFlight.get(handle) ?? 1) - 1;
        if (n <= 0) plainInFlight.delete(handle);
        else plainInFlight.set(handle, n);
      };
      let released = false;
      res.once('close', () => {
        if (!released) release();
        released = true;
      });
      const body = await bodyOf(req, res);
      if (body === null || res.destroyed) return;
      relay(req, res, target(body), null, {});
      return;
    }

    const hold = o.ledger.hold({ handle, keySource });
    if (!hold.ok) {
      o.metrics?.refused(hold.code);
      o.log.info({ handle, reason: hold.code }, 'request refused');
      sendAnthropicError(res, 429, 'rate_limit_error', hold.code, hold.message, {
        ...early,
        period: hold.period,
      });
      return;
    }
    const id = hold.id;
    let admitted = false;
    try {
      const body = await bodyOf(req, res);
      if (body === null || res.destroyed) return;
      const refuse = (
        code: 'invalid_json' | 'invalid_request' | 'model_unpriced' | 'server_tool_unbounded',
        message: string,
      ) => sendAnthropicError(res, 400, 'invalid_request_error', code, message);

      let parsed: MessagesRequest;
      try {
        const result = messagesRequest.safeParse(JSON.parse(body.toString('utf8')));
        if (!result.success) {
          const issues = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
          refuse('invalid_request', issues);
          return;
        }
        parsed = result.data;
      } catch {
        refuse('invalid_json', 'request body is not valid JSON');
        return;
      }
      const startedAt = o.now();
      const price = findPrice(parsed.model, new Date(startedAt), prices);
      if (!price) {
        refuse(
          'model_unpriced',
          `model "${parsed.model}" has no price in this proxy's price table, so it is refused rather than billed at $0`,
        );
        return;
      }
      const tools = serverToolsOf(parsed);
      if (tools.unbounded) {
        refuse(
          'server_tool_unbounded',
          `${tools.unbounded}: the proxy reserves the most a request can cost before it runs, and cannot bound this one`,
        );
        return;
      }
      const worst = worstCaseUsage(parsed, body.length);
      const stream = parsed.stream === true;
      const reservation = o.ledger.reserve(id, {
        model: parsed.model,
        stream,
        serverTools: usesServerTools(tools),
        maxTokens: parsed.max_tokens,
        minTokens: o.minCappedTokens,
        costOf: (maxTokens) => costMicros({ ...worst, outputTokens: maxTokens }, price),
      });
      if (!reservation.ok) {
        o.metrics?.refused(reservation.code);
        o.log.info({ handle, model: parsed.model, reason: reservation.code }, 'request refused');
        sendAnthropicError(res, 429, 'rate_limit_error', reservation.code, reservation.message, {
          period: reservation.period,
        });
        return;
      }
      admitted = true;
      o.metrics?.admitted();
      const capped = reservation.maxTokens < parsed.max_tokens;
      // Only a capped request is re-serialised; any other goes upstream byte for byte.
      const sent = capped
        ? Buffer.from(JSON.stringify({ ...parsed, max_tokens: reservation.maxTokens }))
        : body;
      const extra: Record<string, string> = capped
        ? {
            [PROXY_HEADERS.maxTokensCapped]: String(reservation.maxTokens),
            [PROXY_HEADERS.maxTokensRequested]: String(parsed.max_tokens),
          }
        : {};
      const metering: Metering = {
        id,
        handle,
        model: parsed.model,
        stream,
        price,
        worst: { ...worst, outputTokens: reservation.maxTokens },
        startedAt,
      };
      try {
        relay(req, res, target(sent), metering, extra);
      } catch (err) {
        // Never leave a slot and a reservation behind.
        settle(metering, { ...FREE, outcome: 'upstream_unreachable' });
        throw err;
      }
    } finally {
      if (!admitted) o.ledger.drop(id);
    }
  }

  function relay(
    req: IncomingMessage,
    res: ServerResponse,
    target: { method: string; path: string; headers: http.OutgoingHttpHeaders; body: Buffer },
    metering: Metering | null,
    extraHeaders: Record<string, string>,
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
    let recordTimer: NodeJS.Timeout | undefined;
    let recordedAt = 0;

    /** Keeps the row's usage-so-far current: at once for `message_start`, then at most every interval. */
    const record = () => {
      clearTimeout(recordTimer);
      recordTimer = undefined;
      if (!metering || done) return;
      recordedAt = o.now();
      o.ledger.record(metering.id, meter.result().usage);
    };
    const sse = new SseParser((_event, data) => {
      const wasStarted = meter.started;
      meter.onEvent(data);
      if (clientGone && meter.started) abortUpstream();
      if (!metering || !meter.started) return;
      if (!wasStarted || o.now() - recordedAt >= o.recordIntervalMs) record();
      else recordTimer ??= setTimeout(record, o.recordIntervalMs);
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
      if (!clientGone) res.writeHead(status, { ...clientHeaders(r.headers), ...extraHeaders });
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
      if (!clientGone)
        sendAnthropicError(
          res,
          502,
          'api_error',
          'upstream_unreachable',
          'the Anthropic API could not be reached',
        );
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
      clearTimeout(recordTimer);
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
      sendAnthropicError(res, 500, 'api_error', 'internal', 'internal proxy error');
    });
  };
}
