import {
  bearerToken,
  HttpError,
  INSTANCE_REFRESH_PATH,
  instancePassCookie,
  safeEqual,
  safeReturnPath,
} from '@matrixos/shared';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Activity } from '../activity.ts';
import { isOwnOrigin, ownHost, sessionIdFrom } from '../session/cookie.ts';
import type { SessionStore } from '../session/store.ts';
import type { Passes } from './passes.ts';

/**
 * Browsers cannot set headers on a WebSocket, so `/ws` also takes the token as an offered
 * subprotocol `matrixos.bearer.<token>` (the server never echoes it back, see events/socket.ts).
 */
export const WS_TOKEN_PROTOCOL_PREFIX = 'matrixos.bearer.';

export type Auth =
  | { via: 'bearer' }
  /** A browser signed in here with the token (single-user mode's sign-in page). */
  | { via: 'session'; sessionId: string }
  /** A browser with the platform's instance pass (platform mode): `sessionId` is the pass's `sid`. */
  | { via: 'pass'; sessionId: string; userId: string; role: 'user' | 'admin' };
/** Routes read who is calling with `c.get('auth')` (null on the pages open to everyone). */
export type AuthEnv = { Variables: { auth: Auth | null } };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** The header every 401 here carries. */
export const BEARER_CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="matrixos"' };

export interface AuthOptions {
  token: string;
  sessions: SessionStore;
  activity: Activity;
  /** Routes this leaves alone, which are not activity: public (`/health`), or with their own check. */
  publicPaths: ReadonlySet<string>;
  /** Routes that work signed in or not, and look at `c.get('auth')` (the shell, sign-in). */
  open(method: string, path: string): boolean;
  /**
   * Platform mode: the platform's instance passes are taken, and a browser without a valid one is
   * sent through the platform for a new one (`INSTANCE_REFRESH_PATH`), not to a sign-in here.
   */
  passes?: Passes | undefined;
}

/**
 * Every route but the public and open ones needs the owner: `Authorization: Bearer <token>`
 * (compared in constant time), the platform's instance pass (platform mode), or a browser session
 * cookie. A request that changes something (any method but GET/HEAD/OPTIONS, and WebSocket
 * upgrades) is refused when its `Origin` is another site's: other tenants' hosts are the same
 * *site* as this one, so SameSite cookies alone would not stop them. With a pass or a session
 * cookie it must carry `Origin` at all. An authenticated request is activity: it keeps the
 * instance awake.
 */
export function requireAuth({
  token,
  sessions,
  activity,
  publicPaths,
  open,
  passes,
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
    let passExpired = false;
    if (presented && safeEqual(presented, token)) {
      auth = { via: 'bearer' };
    } else if (!presented) {
      const pass = passes ? passFrom(c) : null;
      const check = passes && pass ? await passes.check(pass, ownHost(c)) : null;
      if (check?.ok) {
        const { sid, sub, role } = check.claims;
        auth = { via: 'pass', sessionId: sid, userId: sub, role };
      } else {
        passExpired = check?.reason === 'expired';
        const sessionId = sessionIdFrom(c);
        if (sessionId && sessions.verify(sessionId)) auth = { via: 'session', sessionId };
      }
      if (auth && changing && origin === undefined) {
        throw new HttpError(
          403,
          'origin_required',
          'a signed-in browser request that changes something must carry Origin',
        );
      }
    }
    c.set('auth', auth);
    if (auth) {
      activity.touch();
    } else if (!open(c.req.method, c.req.path)) {
      if (passes && !presented && isNavigation(c, upgrade)) return refresh(c);
      if (passExpired) {
        throw new HttpError(
          401,
          'pass_expired',
          'the pass ran out: load the page again',
          undefined,
          BEARER_CHALLENGE,
        );
      }
      const message = presented ? 'invalid token' : 'sign in first, or send Authorization: Bearer <token>';
      throw new HttpError(401, 'unauthorized', message, undefined, BEARER_CHALLENGE);
    }
    return next();
  };
}

/**
 * Through the platform for a new pass, then back here. The platform answers that path on this
 * host (the gateway never does: it is a public path here, a 404, so this cannot loop).
 */
function refresh(c: Context): Response {
  const { pathname, search } = new URL(c.req.url);
  const next = encodeURIComponent(safeReturnPath(pathname + search));
  c.header('Cache-Control', 'no-store');
  return c.redirect(`${INSTANCE_REFRESH_PATH}?next=${next}`, 302);
}

/** A browser loading a page (rather than a script's fetch, which gets a 401 to act on). */
function isNavigation(c: Context, upgrade: boolean): boolean {
  if ((c.req.method !== 'GET' && c.req.method !== 'HEAD') || upgrade) return false;
  return (
    c.req.header('sec-fetch-mode') === 'navigate' || (c.req.header('accept') ?? '').includes('text/html')
  );
}

/** The `__Host-` one first, as with the session cookie: no other host can have set that one. */
function passFrom(c: Context): string | null {
  return getCookie(c, instancePassCookie(true)) || getCookie(c, instancePassCookie(false)) || null;
}

function protocolToken(header: string | undefined): string | null {
  if (!header) return null;
  const offered = header.split(',').map((p) => p.trim());
  const match = offered.find((p) => p.startsWith(WS_TOKEN_PROTOCOL_PREFIX));
  return match ? match.slice(WS_TOKEN_PROTOCOL_PREFIX.length) || null : null;
}
