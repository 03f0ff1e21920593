import { bearerToken, HttpError } from '@matrixos/shared';
import type { MiddlewareHandler } from 'hono';
import { ALL_PLATFORM_COOKIES } from '../accounts/cookieNames.ts';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cross-site request forgery: tenant hosts are the same *site* as the control plane, so
 * SameSite cookies alone do not stop a page on `mallory.example.com` from posting here. Every
 * state-changing request must come from an allowed origin, exactly.
 *
 * The one exemption is a request that a bearer token authenticates (`bearerAuthenticates` says
 * which tokens do: the admin token). Merely carrying an `Authorization: Bearer` header exempts
 * nothing: a request with a bogus bearer and our session cookies is authenticated by the cookies
 * (the `/me` routes never read a bearer), so it is checked like any cookie request.
 */
export function originCheck(
  allowed: readonly string[],
  bearerAuthenticates: (token: string) => boolean,
): MiddlewareHandler {
  const origins = new Set(allowed);
  return async (c, next) => {
    if (SAFE.has(c.req.method)) return next();
    const token = bearerToken(c.req.header('authorization'));
    if (token !== null && bearerAuthenticates(token)) return next();
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
