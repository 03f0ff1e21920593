import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from './logger.ts';

/**
 * The one error type of every HTTP API here. Thrown anywhere in a handler, it becomes
 * `{"error": {"code", "message", ...details}}` with its status; anything else becomes a 500
 * that names no internals.
 */
export class HttpError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  /** Response headers the error needs (`WWW-Authenticate` on a 401, `Retry-After` on a 503). */
  readonly headers: Record<string, string> | undefined;

  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: string,
    details?: Record<string, unknown>,
    headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = headers;
  }

  toJSON(): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

/** Hono `onError` handler: known errors keep their status, unknown ones are logged and hidden. */
export function errorHandler(log: Logger) {
  return (err: Error, c: Context) => {
    if (err instanceof HttpError) return c.json(err.toJSON(), err.status, err.headers);
    // Hono's own HTTPException (e.g. from a body-limit middleware) carries a usable status.
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return c.json({ error: { code: 'bad_request', message: err.message || 'bad request' } }, status as 400);
    }
    log.error({ err, method: c.req.method, path: c.req.path }, 'unhandled error');
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  };
}

/** Hono `notFound` handler with the same JSON shape. */
export function notFoundHandler(c: Context) {
  return c.json({ error: { code: 'not_found', message: `no route for ${c.req.method} ${c.req.path}` } }, 404);
}
