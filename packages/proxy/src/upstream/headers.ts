import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { bearerToken } from '@matrixos/shared';

/** The caller's key: `x-api-key` as the SDK sends it, or `Authorization: Bearer`. */
export function callerKey(headers: IncomingHttpHeaders): string | null {
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '') return apiKey;
  return bearerToken(headers.authorization);
}

/**
 * What goes upstream: the API's own headers from the caller (version, betas, the SDK's
 * `x-stainless-*` telemetry) and nothing else, so the caller's key, cookies and forwarding
 * headers never leave the proxy. The key is the platform's or the user's own.
 */
export function upstreamHeaders(
  incoming: IncomingHttpHeaders,
  apiKey: string,
  bodyLength: number,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    if (
      name === 'anthropic-version' ||
      name === 'anthropic-beta' ||
      name === 'content-type' ||
      name === 'accept' ||
      name === 'user-agent' ||
      name.startsWith('x-stainless-')
    ) {
      out[name] = value;
    }
  }
  out['x-api-key'] = apiKey;
  // Bytes must arrive as the API sent them: usage is parsed from them and they pass through unchanged.
  out['accept-encoding'] = 'identity';
  if (bodyLength > 0) {
    out['content-length'] = bodyLength;
    out['content-type'] ??= 'application/json';
  }
  return out;
}

const DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // The platform's upstream account is none of the tenant's business.
  'set-cookie',
  'anthropic-organization-id',
]);

/** What comes back: everything (request-id, anthropic-ratelimit-*, retry-after...) but hop-by-hop headers. */
export function clientHeaders(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value !== undefined && !DROPPED.has(name)) out[name] = value;
  }
  return out;
}
