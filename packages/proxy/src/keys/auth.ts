import { bearerToken, HttpError, safeEqual } from '@matrixos/shared';
import type { Context } from 'hono';
import type { KeyStore } from './KeyStore.ts';

const CHALLENGE = { 'www-authenticate': 'Bearer' };

export type Caller = { kind: 'admin' } | { kind: 'instance'; handle: string };

/**
 * Who is calling the proxy's own API: the platform with the admin token (as a bearer token), or
 * an instance with its proxy token (`x-api-key` or bearer, as on `/v1`). Nothing else counts.
 * Without a configured admin token nobody is admin: the admin API never fails open.
 */
export function identify(c: Context, adminToken: string | null, keys: KeyStore): Caller {
  const bearer = bearerToken(c.req.header('authorization'));
  if (adminToken !== null && bearer !== null && safeEqual(bearer, adminToken)) return { kind: 'admin' };
  const key = c.req.header('x-api-key') || bearer;
  const handle = key ? keys.handleFor(key) : null;
  if (handle !== null) return { kind: 'instance', handle };
  throw new HttpError(
    401,
    'unauthorized',
    key ? 'invalid token' : 'a bearer token or x-api-key is required',
    undefined,
    CHALLENGE,
  );
}

export function requireAdmin(c: Context, adminToken: string | null, keys: KeyStore): void {
  if (adminToken === null) {
    throw new HttpError(
      401,
      'admin_disabled',
      'the admin API is disabled: PLATFORM_ADMIN_TOKEN is not set',
      undefined,
      CHALLENGE,
    );
  }
  const caller = identify(c, adminToken, keys);
  if (caller.kind !== 'admin')
    throw new HttpError(401, 'unauthorized', 'the admin token is required', undefined, CHALLENGE);
}

export function requireInstance(c: Context, adminToken: string | null, keys: KeyStore): string {
  const caller = identify(c, adminToken, keys);
  if (caller.kind !== 'instance')
    throw new HttpError(403, 'forbidden', "only an instance's own proxy token can do this");
  return caller.handle;
}
