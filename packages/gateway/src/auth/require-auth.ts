import { bearerToken, HttpError, safeEqual } from '@matrixos/shared';
import type { MiddlewareHandler } from 'hono';
import type { Activity } from '../activity.ts';
import { isOwnOrigin, sessionIdFrom } from '../session/cookie.ts';
import type { SessionStore } from '../session/store.ts';

/**
 * Browsers cannot set headers on a WebSocket, so `/ws` also takes the token as an offered
 * subprotocol `matrixos.bearer.<token>` (the server never echoes it back, see events/socket.ts).
 */
export const WS_TOKEN_PROTOCOL_PREFIX = 'matrixos.bearer.';

export type Auth = { via: 'bearer' } | { via: 'session'; sessionId: string };
/** Routes read who is calling with `c.get('auth')` (null on the pages open to everyone). */
export type AuthEnv = { Variables: { auth: Auth | null } };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AuthOptions {
  token: string;
  sessions: SessionStore;
  activity: Activity;
  /** Routes that need no authentication and are not activity (`/health`). */
  publicPaths: ReadonlySet<string>;
  /** Routes that work signed in or not, and look at `c.get('auth')` (the shell, sign-in). */
  open(method: string, path: string): boolean;
}

/**
 * Every route but the public and open ones needs the owner: `Authorization: Bearer <token>`
 * (compared in constant time; the platform's router adds it for the owner), or a browser session
 * cookie. A request that changes something (any method but GET/HEAD/OPTIONS, and WebSocket
 * upgrades) is refused when its `Origin` is another site's: other tenants' hosts are the same
 * *site* as this one, so SameSite cookies alone would not stop them. With a session cookie it
 * must carry `Origin` at all. An authenticated request is activity: it keeps the instance awake.
 */
export function requireAuth({
  token,
  sessions,
  activity,
  publicPaths,
  open,
}: AuthOptions): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    if (publicPaths.has(c.req.path)) return next();
    const upgrade = c.req.header('upgrade')?.toLowerCase() === 'websocket';
    const changing = upgrade || !SAFE_METHODS.has(c.req.method);
    const origin = c.req.header('origin');
    if (changing && origin !== undefined && !isOwnOrigin(c, origin)) {
      throw new HttpError(403, 'cross_origin', 'requests from other origins may not change anything here');
    }
    const presented =
      bearerToken(c.req.header('authorization')) ??
      (upgrade ? protocolToken(c.req.header('sec-websocket-protocol')) : null);
    let auth: Auth | null = null;
    if (presented && safeEqual(presented, token)) {
      auth = { via: 'bearer' };
    } else if (!presented) {
      const sessionId = sessionIdFrom(c);
      if (sessionId && sessions.verify(sessionId)) {
        if (changing && origin === undefined) {
          throw new HttpError(
            403,
            'origin_required',
            'a signed-in browser request that changes something must carry Origin',
          );
        }
        auth = { via: 'session', sessionId };
      }
    }
    c.set('auth', auth);
    if (auth) {
      activity.touch();
    } else if (!open(c.req.method, c.req.path)) {
      const message = presented ? 'invalid token' : 'sign in first, or send Authorization: Bearer <token>';
      throw new HttpError(401, 'unauthorized', message, undefined, {
        'WWW-Authenticate': 'Bearer realm="matrixos"',
      });
    }
    return next();
  };
}

function protocolToken(header: string | undefined): string | null {
  if (!header) return null;
  const offered = header.split(',').map((p) => p.trim());
  const match = offered.find((p) => p.startsWith(WS_TOKEN_PROTOCOL_PREFIX));
  return match ? match.slice(WS_TOKEN_PROTOCOL_PREFIX.length) || null : null;
}
