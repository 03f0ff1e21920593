import { bearerToken, HttpError, safeEqual } from '@matrixos/shared';
import type { MiddlewareHandler } from 'hono';
import type { Activity } from '../activity.ts';

/**
 * Browsers cannot set headers on a WebSocket, so `/ws` also takes the token as an offered
 * subprotocol `matrixos.bearer.<token>` (the server never echoes it back, see events/socket.ts).
 */
export const WS_TOKEN_PROTOCOL_PREFIX = 'matrixos.bearer.';

/**
 * Every route but the public ones needs `Authorization: Bearer <token>`, compared in constant
 * time. An authenticated request is activity: it keeps the instance awake.
 */
export function requireToken(
  token: string,
  activity: Activity,
  publicPaths: ReadonlySet<string>,
): MiddlewareHandler {
  return async (c, next) => {
    if (publicPaths.has(c.req.path)) return next();
    const upgrade = c.req.header('upgrade')?.toLowerCase() === 'websocket';
    const presented =
      bearerToken(c.req.header('authorization')) ??
      (upgrade ? protocolToken(c.req.header('sec-websocket-protocol')) : null);
    if (!presented || !safeEqual(presented, token)) {
      const message = presented ? 'invalid token' : 'missing Authorization: Bearer <token> header';
      throw new HttpError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer realm="matrixos"' });
    }
    activity.touch();
    return next();
  };
}

function protocolToken(header: string | undefined): string | null {
  if (!header) return null;
  const offered = header.split(',').map((p) => p.trim());
  const match = offered.find((p) => p.startsWith(WS_TOKEN_PROTOCOL_PREFIX));
  return match ? match.slice(WS_TOKEN_PROTOCOL_PREFIX.length) || null : null;
}
