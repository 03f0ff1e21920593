import { bearerToken, HttpError, safeEqual } from '@matrixos/shared';
import type { MiddlewareHandler } from 'hono';

/**
 * Admin routes need `Authorization: Bearer <PLATFORM_ADMIN_TOKEN>`. Fails closed: with no token
 * configured the middleware cannot even be built, so a route cannot be left open by accident.
 */
export function requireAdmin(adminToken: string): MiddlewareHandler {
  if (adminToken.length < 24)
    throw new Error('requireAdmin: refusing to guard admin routes with an empty or short token');
  return async (c, next) => {
    const token = bearerToken(c.req.header('authorization'));
    if (token === null || !safeEqual(token, adminToken)) {
      c.header('WWW-Authenticate', 'Bearer realm="matrixos-admin"');
      throw new HttpError(
        401,
        'unauthorized',
        token === null ? 'admin token required' : 'admin token not accepted',
      );
    }
    await next();
  };
}
