import { z } from 'zod';

/**
 * Why the proxy itself refused a `/v1/*` request, machine-readable. The body keeps the Anthropic
 * API's error shape (so the SDK raises its usual error class with the proxy's message) and adds
 * `error.code`; the same code is in the `x-proxy-refusal` header, which the SDK exposes too.
 * Consumers decide on the code, never on the wording of the message.
 */
export const refusalCode = z.enum([
  /** A budget (`error.period`: total, day or month) cannot cover even a short answer. */
  'budget_exhausted',
  /** `MAX_INFLIGHT_PER_USER` requests of this instance are in flight. */
  'too_many_in_flight',
  /** Another request of this instance that uses server tools is in flight (one at a time). */
  'server_tool_in_flight',
  /** A server tool whose cost the proxy cannot bound (no `max_uses`, code execution, MCP servers). */
  'server_tool_unbounded',
  'missing_key',
  'invalid_key',
  /** Neither the platform's key nor the user's own is set. */
  'no_upstream_key',
  'body_too_large',
  /** The body did not arrive within `BODY_TIMEOUT` of the headers. */
  'body_timeout',
  'invalid_json',
  'invalid_request',
  'model_unpriced',
  /** A `/v1` route the proxy does not serve (it could not meter it). */
  'not_served',
  'upstream_unreachable',
  'internal',
]);
export type RefusalCode = z.infer<typeof refusalCode>;

export const budgetPeriod = z.enum(['total', 'day', 'month']);
export type BudgetPeriod = z.infer<typeof budgetPeriod>;

/** The `error.type` values of the Anthropic API that the proxy itself answers with. */
export const anthropicErrorType = z.enum([
  'invalid_request_error',
  'authentication_error',
  'not_found_error',
  'request_too_large',
  'rate_limit_error',
  'timeout_error',
  'api_error',
]);
export type AnthropicErrorType = z.infer<typeof anthropicErrorType>;

/** A refusal by the proxy on `/v1/*`: the Anthropic error body plus `code` (and `period` for budgets). */
export const refusalBody = z.object({
  type: z.literal('error'),
  error: z.object({
    type: anthropicErrorType,
    code: refusalCode,
    message: z.string(),
    period: budgetPeriod.optional(),
  }),
});
export type RefusalBody = z.infer<typeof refusalBody>;

/** Response headers of `/v1/*` the proxy adds. */
export const PROXY_HEADERS = {
  /** The refusal code, on every refusal by the proxy itself. */
  refusal: 'x-proxy-refusal',
  /**
   * Set when the budget left could not cover the requested `max_tokens`: the request went
   * upstream with this smaller `max_tokens` (the answer may stop early with `stop_reason:
   * max_tokens`). `x-proxy-max-tokens-requested` has what the caller asked for.
   */
  maxTokensCapped: 'x-proxy-max-tokens-capped',
  maxTokensRequested: 'x-proxy-max-tokens-requested',
} as const;

/** The error body of the proxy's own (non-`/v1`) API, as everywhere on the platform. */
export const apiError = z.object({
  error: z.looseObject({ code: z.string(), message: z.string() }),
});
export type ApiError = z.infer<typeof apiError>;
