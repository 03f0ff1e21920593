import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  buildMessage,
  errorEvent,
  inventedUsage,
  type MessageScript,
  messageEvents,
  messageJson,
  reply,
  type Script,
} from './script.ts';

/** One request as the stand-in received it, to assert what was (and was not) forwarded. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** Exactly the bytes the stand-in wrote as the response body. */
  sent: Buffer[];
  /** The response was written to its end. */
  completed: boolean;
  /** The caller closed the connection before the response was complete. */
  aborted: boolean;
}

export interface StandInOptions {
  /** Keys it accepts in `x-api-key` (401 `authentication_error` for any other); absent: any key. */
  apiKeys?: string[];
  /** What `POST /v1/messages` answers when no script is queued. */
  fallback?: Script | ((body: Record<string, unknown>) => Script);
  port?: number;
  host?: string;
}

export interface UpstreamStandIn {
  /** Give this as `ANTHROPIC_UPSTREAM_URL`. */
  url: string;
  port: number;
  received: ReceivedRequest[];
  /** Queues answers for the next `POST /v1/messages` calls, in order. */
  enqueue(...scripts: Script[]): void;
  /** Forgets queued scripts and received requests. */
  reset(): void;
  close(): Promise<void>;
}

export const STAND_IN_MODELS = [
  { id: 'claude-opus-5-5', display_name: 'Claude Opus 5.5' },
  { id: 'claude-sonnet-5-5', display_name: 'Claude Sonnet 5.5' },
  { id: 'claude-haiku-4-5-20251001', display_name: 'Claude Haiku 4.5' },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A local server speaking the Anthropic Messages API wire format (JSON and SSE with every event
 * type, error responses with their headers), scriptable per test. Products reach it only through
 * `ANTHROPIC_UPSTREAM_URL`, like the real API.
 */
export async function startUpstreamStandIn(options: StandInOptions = {}): Promise<UpstreamStandIn> {
  const queue: Script[] = [];
  const received: ReceivedRequest[] = [];
  let counter = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let body: unknown = null;
      try {
        body = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : null;
      } catch {
        body = raw.toString('utf8');
      }
      const rec: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        sent: [],
        completed: false,
        aborted: false,
      };
      received.push(rec);
      res.on('close', () => {
        rec.completed = res.writableFinished;
        rec.aborted = !res.writableFinished;
      });
      answer(req, res, rec, raw.length).catch(() => res.destroy());
    });
  });

  function write(res: ServerResponse, rec: ReceivedRequest, data: string | Uint8Array): void {
    const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    rec.sent.push(buf);
    res.write(buf);
  }

  function json(
    res: ServerResponse,
    rec: ReceivedRequest,
    status: number,
    value: unknown,
    headers = {},
  ): void {
    const body = Buffer.from(JSON.stringify(value));
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, ...headers });
    rec.sent.push(body);
    res.end(body);
  }

  const apiError = (type: string, message: string) => ({ type: 'error', error: { type, message } });

  async function answer(
    req: IncomingMessage,
    res: ServerResponse,
    rec: ReceivedRequest,
    bytes: number,
  ): Promise<void> {
    const id = ++counter;
    const baseHeaders = {
      'request-id': `req_standin_${id}`,
      'anthropic-ratelimit-requests-limit': '4000',
      'anthropic-ratelimit-requests-remaining': '3999',
    };
    const key = req.headers['x-api-key'];
    if (options.apiKeys && (typeof key !== 'string' || !options.apiKeys.includes(key))) {
      return json(res, rec, 401, apiError('authentication_error', 'invalid x-api-key'), baseHeaders);
    }
    if (!req.headers['anthropic-version']) {
      return json(
        res,
        rec,
        400,
        apiError('invalid_request_error', 'anthropic-version: header is required'),
        baseHeaders,
      );
    }
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/v1/models') {
      const data = STAND_IN_MODELS.map((m) => ({ type: 'model', created_at: '2026-09-01T00:00:00Z', ...m }));
      return json(
        res,
        rec,
        200,
        { data, has_more: false, first_id: data[0]?.id, last_id: data.at(-1)?.id },
        baseHeaders,
      );
    }
    if (req.method === 'GET' && path?.startsWith('/v1/models/')) {
      const m = STAND_IN_MODELS.find((x) => x.id === path.slice('/v1/models/'.length));
      if (!m) return json(res, rec, 404, apiError('not_found_error', 'model not found'), baseHeaders);
      return json(res, rec, 200, { type: 'model', created_at: '2026-09-01T00:00:00Z', ...m }, baseHeaders);
    }
    if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
      return json(res, rec, 200, { input_tokens: Math.ceil(bytes / 4) }, baseHeaders);
    }
    if (req.method !== 'POST' || path !== '/v1/messages') {
      return json(res, rec, 404, apiError('not_found_error', `${req.method} ${path} not found`), baseHeaders);
    }
    const body = (rec.body ?? {}) as Record<string, unknown>;
    const fallback = options.fallback ?? reply('Hello from the stand-in.');
    const script = queue.shift() ?? (typeof fallback === 'function' ? fallback(body) : fallback);

    if (script.kind === 'error') {
      if (script.firstByteDelayMs) await sleep(script.firstByteDelayMs);
      return json(res, rec, script.status, apiError(script.type, script.message), {
        ...baseHeaders,
        ...script.headers,
      });
    }
    if (script.kind === 'raw') {
      res.writeHead(script.status ?? 200, { ...baseHeaders, ...script.headers });
      for (const chunk of script.chunks) {
        if (res.destroyed) return;
        write(res, rec, chunk);
        if (script.chunkDelayMs) await sleep(script.chunkDelayMs);
      }
      res.end();
      return;
    }
    if (script.firstByteDelayMs) await sleep(script.firstByteDelayMs);
    if (script.gate) await script.gate;
    const model = typeof body.model === 'string' ? body.model : 'claude-sonnet-5-5';
    const built = buildMessage(
      script,
      `msg_standin_${id}`,
      model,
      script.usage ?? inventedUsage(script, bytes),
    );
    if (body.stream !== true)
      return json(res, rec, 200, messageJson(built), { ...baseHeaders, ...script.headers });
    await streamMessage(res, rec, script, messageEvents(script, built), {
      ...baseHeaders,
      ...script.headers,
    });
  }

  async function streamMessage(
    res: ServerResponse,
    rec: ReceivedRequest,
    s: MessageScript,
    events: string[],
    headers: Record<string, string>,
  ): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      ...headers,
    });
    for (const [i, event] of events.entries()) {
      if (res.destroyed) return;
      if (s.errorAfterEvents === i) {
        write(res, rec, errorEvent(s.errorType ?? 'overloaded_error', 'Overloaded'));
        res.end();
        return;
      }
      // Leave the stream open until the caller gives up.
      if (s.hangAfterEvents === i) return;
      write(res, rec, event);
      if (s.eventDelayMs) await sleep(s.eventDelayMs);
    }
    res.end();
  }

  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    received,
    enqueue: (...scripts) => queue.push(...scripts),
    reset() {
      queue.length = 0;
      received.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
