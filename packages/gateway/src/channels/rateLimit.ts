import { HttpError } from '@matrixos/shared';
import type { MiddlewareHandler } from 'hono';

/**
 * At most `max` requests per `windowMs` through this middleware (one fixed window for the whole
 * instance: each instance has one owner, so there is nobody to tell apart). Over it: 429.
 */
export function rateLimit(max: number, windowMs: number, clock: () => number = Date.now): MiddlewareHandler {
  let windowStart = 0;
  let count = 0;
  return async (_c, next) => {
    const now = clock();
    if (now - windowStart >= windowMs) {
      windowStart = now;
      count = 0;
    }
    if (++count > max) {
      const retry = Math.ceil((windowStart + windowMs - now) / 1000);
      throw new HttpError(429, 'rate_limited', 'too many requests; try again shortly', undefined, {
        'Retry-After': String(retry),
      });
    }
    await next();
  };
}
