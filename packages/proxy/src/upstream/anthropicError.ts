import type { ServerResponse } from 'node:http';
import type { PeriodKind } from '../budget/periods.ts';
import { type AnthropicErrorType, PROXY_HEADERS, type RefusalCode } from '../contract/refusals.ts';

export type { AnthropicErrorType };

export interface RefusalOptions {
  /** The budget that refused, for `budget_exhausted`. */
  period?: PeriodKind;
  /** The request's body was not read (or not all of it), and will not be: the connection closes after the answer (see lingeringClose). */
  discard?: boolean;
}

/**
 * Answers a `/v1/*` request the way the Anthropic API would, so the SDK in the instance shows
 * the message as it is, plus the machine-readable `error.code` (and `x-proxy-refusal`) from the
 * contract. `x-should-retry: false` keeps the SDK from retrying a refusal that a retry cannot
 * change (502, a connection problem, may be retried).
 */
export function sendAnthropicError(
  res: ServerResponse,
  status: number,
  type: AnthropicErrorType,
  code: RefusalCode,
  message: string,
  o: RefusalOptions = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const error = o.period ? { type, code, message, period: o.period } : { type, code, message };
  const body = JSON.stringify({ type: 'error', error });
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    [PROXY_HEADERS.refusal]: code,
  };
  if (status !== 502) headers['x-should-retry'] = 'false';
  if (o.discard) {
    headers.connection = 'close';
    lingeringClose(res);
  }
  res.writeHead(status, headers);
  res.end(body);
}

/** How long a refused caller has to read its answer before the connection is closed under it. */
const LINGER_MS = 2_000;

/**
 * Closes the connection after the answer without reading what the caller still sends: the
 * answer goes out with a FIN, the proxy stops reading (TCP flow control then holds the caller's
 * bytes in the caller's own buffers, not in the proxy), and the socket is destroyed a moment
 * later. Destroying it at once would reset the connection under a caller still sending, and a
 * reset makes the caller's kernel drop the answer unread.
 */
function lingeringClose(res: ServerResponse): void {
  const socket = res.req.socket;
  socket.destroySoon = () => {
    socket.end();
    socket.pause();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
}
