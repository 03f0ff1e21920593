import { bearerToken, HttpError, safeEqual } from '@matrixos/shared';
import type { MiddlewareHandler } from 'hono';
import type { SessionCookies } from './sessionCookies.ts';

/** Whether a bearer token is the admin token: the only bearer the control plane's own routes accept. */
export function isAdminToken(adminToken: string): (token: string) => boolean {
  return (token) => safeEqual(token, adminToken);
}

/**
 * Admin routes need `Authorization: Bearer <PLATFORM_ADMIN_TOKEN>`, or the session of an admin
 * account (made one with `PUT /admin/users/{handle}/role`). Fails closed: with no token configured the middleware cannot even be
 * built, so a route cannot be left open by accident.
 */
export function requireAdmin(adminToken: string, cookies: SessionCookies): MiddlewareHandler {
  if (adminToken.length < 24)
    throw new Error('requireAdmin: refusing to guard admin routes with an empty or short token');
  return async (c, next) => {
    const token = bearerToken(c.req.header('authorization'));
    if (token !== null) {
      if (safeEqual(token, adminToken)) return next();
      throw new HttpError(401, 'unauthorized', 'admin token not accepted', undefined, {
        'WWW-Authenticate': 'Bearer realm="matrixos-admin"',
      });
    }
    const user = await cookies.resolve(c);
    if (user?.role === 'admin') return next();
    if (user) throw new HttpError(403, 'admins_only', 'this needs an admin account');
    throw new HttpError(401, 'unauthorized', 'admin token required', undefined, {
      'WWW-Authenticate': 'Bearer realm="matrixos-admin"',
    });
  };
}
