export type SocialErrorCode =
  | 'not_found'
  | 'unknown_recipient'
  | 'blocked'
  | 'self'
  | 'too_large'
  | 'rate_limited'
  | 'recipient_cap'
  | 'undeliverable'
  | 'invalid_cursor'
  | 'invalid_reply'
  | 'too_many_blocks';

/**
 * A refusal of the social domain, with its contract code; the routes turn it into HTTP once
 * (`toHttpError`), so the domain never speaks HTTP.
 */
export class SocialError extends Error {
  readonly code: SocialErrorCode;
  readonly retryAfterMs: number | undefined;
  constructor(code: SocialErrorCode, message: string, retryAfterMs?: number) {
    super(message);
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}
