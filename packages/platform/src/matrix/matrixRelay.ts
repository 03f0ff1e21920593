import { createHash } from 'node:crypto';
import { bearerToken, limitBody } from '@matrixos/shared';
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { RateLimiter } from '../accounts/rateLimiter.ts';

/** Largest request a Matrix client may send through the relay (Synapse's own default upload limit is 50M). */
export const MATRIX_MAX_BODY = 10 * 1024 * 1024;
/** Requests per caller per minute: a syncing client makes about two a minute, a busy chat dozens. */
export const MATRIX_RATE_LIMIT = 600;

/** Hop-by-hop headers and the platform's own cookies never cross the relay. */
const DROP = new Set([
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'cookie',
  'content-length',
]);

/** A Matrix error, in the shape Matrix clients read (`errcode`, `error`). */
const matrixError = (c: Context, status: 404 | 429, errcode: string, error: string, retryMs?: number) =>
  c.json({ errcode, error, ...(retryMs ? { retry_after_ms: retryMs } : {}) }, status);

/**
 * The homeserver's client API (`/_matrix/client/*`, `/_matrix/media/*`) passed through: users'
 * own clients reach it on the control-plane host, instances on the host's instance address.
 * Nothing else of the homeserver (admin API, federation) is reachable this way. Limits come
 * before the body is read: a size cap and a rate limit per access token (or per address).
 */
export function matrixRelay(deps: {
  homeserverUrl: string;
  limiter: RateLimiter;
  /** Who is calling, when no token says (the client's address). */
  callerOf: (c: Context) => string;
}) {
  const base = deps.homeserverUrl.replace(/\/+$/, '');
  const app = new Hono();
  const forward = async (c: Context) => {
    const token = bearerToken(c.req.header('authorization')) ?? c.req.query('access_token');
    const caller = token ? createHash('sha256').update(token).digest('hex').slice(0, 24) : deps.callerOf(c);
    const hit = deps.limiter.hit(`matrix:${caller}`, MATRIX_RATE_LIMIT, 60_000);
    if (!hit.ok) return matrixError(c, 429, 'M_LIMIT_EXCEEDED', 'too many requests', hit.retryAfterMs);
    const url = new URL(c.req.url);
    const headers = new Headers();
    for (const [k, v] of c.req.raw.headers) if (!DROP.has(k)) headers.set(k, v);
    const hasBody = c.req.method !== 'GET' && c.req.method !== 'HEAD';
    let res: Response;
    try {
      res = await fetch(`${base}${url.pathname}${url.search}`, {
        method: c.req.method,
        headers,
        body: hasBody ? c.req.raw.body : undefined,
        // @ts-expect-error: Node's fetch needs this to stream a request body
        duplex: 'half',
        redirect: 'manual',
        signal: c.req.raw.signal,
      });
    } catch {
      // Down or restarting: clients retry a 502 (matrix-js-sdk's sync backs off and comes back).
      return c.json({ errcode: 'M_UNKNOWN', error: 'the homeserver is unreachable' }, 502);
    }
    const out = new Headers();
    for (const [k, v] of res.headers)
      if (!DROP.has(k) && k !== 'set-cookie' && k !== 'content-encoding') out.set(k, v);
    return new Response(res.body, { status: res.status, headers: out });
  };
  app.use('/_matrix/*', limitBody(MATRIX_MAX_BODY));
  app.all('/_matrix/client/*', forward);
  app.all('/_matrix/media/*', forward);
  app.all('/_matrix/*', (c) => matrixError(c, 404, 'M_UNRECOGNIZED', 'not served here'));
  return app;
}
