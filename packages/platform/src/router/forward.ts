import type http from 'node:http';
import { Agent } from 'undici';
import type { Endpoint } from '../runtime/driver.ts';
import { filterResponseHeaders } from './filterResponseHeaders.ts';

// Response headers that describe the instance→router hop, not the response.
const HOP_BY_HOP_RESPONSE = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'trailer',
];

/**
 * Streams HTTP requests to instances and their responses back: no buffering either way, the
 * response headers as the instance wrote them (repeated ones such as Set-Cookie included), an
 * event stream's headers flushed at once. undici's client over keep-alive pools: on this hot
 * path it measured about 1.6x node:http's client (docs/benchmarks.md).
 */
export function createForwarder() {
  // No time limits on the instance's answer: a long poll or a quiet event stream is legitimate,
  // and the client decides how long it waits. Connecting, though, must be quick: an instance on
  // this host or network accepts in well under a millisecond, so 2 s (one lost SYN retried) means
  // the address is stale, and the router wakes the instance rather than let the request wait.
  const pools = new Agent({
    keepAliveTimeout: 4000,
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: { timeout: 2000 },
  });

  function forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    to: Endpoint,
    where: 'instance-host' | 'control-plane',
    onError: (err: NodeJS.ErrnoException) => void,
  ): void {
    const headers = req.headers;
    const hasBody = hasRequestBody(req);
    // The client-side framing is re-done by the client library; `expect` was answered by our server.
    delete headers['transfer-encoding'];
    delete headers.expect;
    const abort = new AbortController();
    // The client went away first: stop the instance's work too.
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const host = to.host.includes(':') ? `[${to.host}]` : to.host;
    pools.stream(
      {
        origin: `http://${host}:${to.port}`,
        path: req.url ?? '/',
        method: (req.method ?? 'GET') as 'GET',
        headers,
        body: hasBody ? req : null,
        signal: abort.signal,
      },
      ({ statusCode, headers: replyHeaders }) => {
        const named = replyHeaders.connection;
        if (typeof named === 'string') for (const n of connectionTokens(named)) delete replyHeaders[n];
        for (const n of HOP_BY_HOP_RESPONSE) delete replyHeaders[n];
        filterResponseHeaders(replyHeaders, where);
        res.writeHead(statusCode, replyHeaders as http.OutgoingHttpHeaders);
        if (String(replyHeaders['content-type']).startsWith('text/event-stream')) res.flushHeaders();
        return res;
      },
      (err) => {
        if (err) onError(err as NodeJS.ErrnoException);
      },
    );
  }

  return { forward, close: () => pools.close() };
}

/** Whether a request has a body to stream (then it cannot be sent a second time). */
export function hasRequestBody(req: http.IncomingMessage): boolean {
  const h = req.headers;
  return h['content-length'] !== undefined
    ? h['content-length'] !== '0'
    : h['transfer-encoding'] !== undefined;
}

/** The header names a `Connection` header lists: they, too, are for this hop only. */
export function connectionTokens(value: string): Set<string> {
  return new Set(
    value
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}
