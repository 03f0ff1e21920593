import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

/**
 * The client's address: the peer's, or (behind a trusted edge) the last X-Forwarded-For hop, the
 * one that edge appended. Earlier hops are whatever the client sent: taking the first would let
 * anyone pick the key their attempts count under, including someone else's address.
 */
export function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim();
    if (forwarded) return forwarded;
  }
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming?.socket.remoteAddress ?? 'unknown';
}
