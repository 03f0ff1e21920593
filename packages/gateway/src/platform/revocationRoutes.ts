import {
  bearerToken,
  HttpError,
  limitBody,
  REVOCATIONS_PATH,
  readJson,
  revocationsBody,
  safeEqual,
} from '@matrixos/shared';
import { Hono, type MiddlewareHandler } from 'hono';
import type { Passes } from '../auth/passes.ts';
import { type AuthEnv, BEARER_CHALLENGE } from '../auth/require-auth.ts';

/**
 * `POST /api/platform/revocations` {sessions}: instance sessions the platform ended (a sign-out,
 * everywhere or not, a demotion, a deleted account). Their passes are refused from now on and
 * their sockets closed at once. Only the platform calls it, with this instance's token: a pass or
 * a cookie is no way in (requireAuth leaves the path to this check, and does not count it as use).
 */
export function revocationRoutes({ token, passes }: { token: string; passes: Passes }): Hono<AuthEnv> {
  const platformOnly: MiddlewareHandler = async (c, next) => {
    const presented = bearerToken(c.req.header('authorization'));
    if (!presented || !safeEqual(presented, token)) {
      throw new HttpError(
        401,
        'unauthorized',
        'only the platform revokes sessions, with the instance token',
        undefined,
        BEARER_CHALLENGE,
      );
    }
    return next();
  };
  return new Hono<AuthEnv>().post(REVOCATIONS_PATH, platformOnly, limitBody(64 * 1024), async (c) => {
    const { sessions } = await readJson(c, revocationsBody);
    const closed = passes.revoke(sessions);
    return c.json({ revoked: new Set(sessions).size, closed });
  });
}
