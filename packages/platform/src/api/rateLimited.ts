import { HttpError } from '@matrixos/shared';

/** The 429 every limit answers with: how long to wait, in words and in `Retry-After`. */
export function rateLimited(retryAfterMs: number): HttpError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new HttpError(429, 'rate_limited', `too many attempts; try again in ${seconds} s`, undefined, {
    'Retry-After': String(seconds),
  });
}
