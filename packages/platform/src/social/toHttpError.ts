import { HttpError } from '@matrixos/shared';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { SocialError, type SocialErrorCode } from './socialError.ts';

const STATUS: Record<SocialErrorCode, ContentfulStatusCode> = {
  not_found: 404,
  unknown_recipient: 404,
  blocked: 403,
  self: 400,
  invalid_cursor: 400,
  invalid_reply: 400,
  too_large: 413,
  too_many_blocks: 409,
  rate_limited: 429,
  recipient_cap: 429,
  undeliverable: 503,
};

/** The one place a social refusal becomes HTTP (with `Retry-After` when waiting helps). */
export function toHttpError(err: unknown): unknown {
  if (!(err instanceof SocialError)) return err;
  const headers =
    err.retryAfterMs === undefined
      ? undefined
      : { 'Retry-After': String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))) };
  return new HttpError(STATUS[err.code], err.code, err.message, undefined, headers);
}
