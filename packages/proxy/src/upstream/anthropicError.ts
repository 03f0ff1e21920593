import type { ServerResponse } from 'node:http';

/** The `error.type` values of the Anthropic API that the proxy itself answers with. */
export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error';

/**
 * Answers a `/v1/*` request the way the Anthropic API would, so the SDK in the instance shows
 * the message as it is. `x-should-retry: false` keeps the SDK from retrying a refusal that a
 * retry cannot change (502, a connection problem, may be retried).
 */
export function sendAnthropicError(
  res: ServerResponse,
  status: number,
  type: AnthropicErrorType,
  message: string,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ type: 'error', error: { type, message } });
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (status !== 502) headers['x-should-retry'] = 'false';
  res.writeHead(status, headers);
  res.end(body);
}
