import { bearerToken, HttpError } from '@matrixos/shared';
import type { MiddlewareHandler } from 'hono';
import { ALL_PLATFORM_COOKIES } from '../accounts/cookieNames.ts';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cross-site request forgery: tenant hosts are the same *site* as the control plane, so
 * SameSite cookies alone do not stop a page on `mallory.example.com` from posting here. Every
 * state-changing request must come from an allowed origin, exactly. Requests authenticated by a
 * bearer token carry no ambient credentials and are exempt (a browser cannot add that header
 * cross-origin without a CORS preflight, which this server never grants).
 */
export function originCheck(allowed: readonly string[]): MiddlewareHandler {
  const origins = new Set(allowed);
  return async (c, next) => {
    if (SAFE.has(c.req.method) || bearerToken(c.req.header('authorization'))) return next();
    if (!c.req.path.startsWith('/auth/') && !carriesOurCookies(c.req.header('cookie'))) return next();
    const origin = c.req.header('origin');
    if (!origin || !origins.has(origin)) {
      throw new HttpError(
        403,
        'bad_origin',
        origin ? `requests from ${origin} are not accepted here` : 'the Origin header is required',
      );
    }
    return next();
  };
}

function carriesOurCookies(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(';').some((part) => ALL_PLATFORM_COOKIES.has(part.split('=', 1)[0]!.trim()));
}
