import type { ServerResponse } from 'node:http';
import { type AnthropicErrorType, PROXY_HEADERS, type RefusalCode } from '../contract/refusals.ts';
import type { PeriodKind } from '../budget/periods.ts';

export type { AnthropicErrorType };

export interface RefusalOptions {
  /** The budget that refused, for `budget_exhausted`. */
  period?: PeriodKind;
  /**
   * The request's body was not read: close the connection after the answer rather than read
   * (and throw away) whatever the caller still sends.
   */
  close?: boolean;
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
  if (o.close) {
    headers.connection = 'close';
    // Whatever the caller is still sending is not read into memory: the socket goes once the answer is out.
    res.once('finish', () => res.req.socket?.destroySoon());
  }
  res.writeHead(status, headers);
  res.end(body);
}
