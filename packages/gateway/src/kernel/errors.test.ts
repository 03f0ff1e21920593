import { APIConnectionError, APIError } from '@anthropic-ai/sdk/core/error';
import { describe, expect, it } from 'vitest';
import { describeFailure } from './errors.ts';

const apiError = (status: number, error: Record<string, unknown>, headers: Record<string, string> = {}) =>
  APIError.generate(status, { type: 'error', error }, undefined, new Headers(headers));

describe('describeFailure', () => {
  it.each([
    [
      'a budget refusal, by its code',
      apiError(429, {
        type: 'rate_limit_error',
        code: 'budget_exhausted',
        message: 'budget of $5.00 reached: $5.00 spent.',
      }),
      'budget_exhausted',
    ],
    [
      'a budget refusal, by its header',
      apiError(
        429,
        { type: 'rate_limit_error', message: 'whatever it says' },
        { 'x-proxy-refusal': 'budget_exhausted' },
      ),
      'budget_exhausted',
    ],
    // The message is not what decides: an upstream 429 that happens to say "budget" is a rate limit.
    [
      'an upstream 429 whose message mentions a budget',
      apiError(429, { type: 'rate_limit_error', message: 'Your organization budget limit was hit' }),
      'rate_limited',
    ],
    [
      'too many requests in flight',
      apiError(429, {
        type: 'rate_limit_error',
        code: 'too_many_in_flight',
        message: 'too many requests in flight',
      }),
      'rate_limited',
    ],
    [
      'an overloaded upstream',
      apiError(529, { type: 'overloaded_error', message: 'Overloaded' }),
      'overloaded',
    ],
    [
      'a refused key',
      apiError(401, { type: 'authentication_error', code: 'invalid_key', message: 'invalid x-api-key' }),
      'key_refused',
    ],
    [
      'an unbounded server tool',
      apiError(400, {
        type: 'invalid_request_error',
        code: 'server_tool_unbounded',
        message: 'the web_search tool needs max_uses',
      }),
      'request_refused',
    ],
    ['no connection', new APIConnectionError({ message: 'connect ECONNREFUSED' }), 'unreachable'],
    ['anything else', new Error('boom'), 'internal'],
  ])('%s', (_what, err, code) => {
    expect(describeFailure(err, 'platform').code).toBe(code);
  });

  it('words a budget refusal with the proxy message, without its final stop', () => {
    const err = apiError(429, {
      type: 'rate_limit_error',
      code: 'budget_exhausted',
      message: 'daily budget of $1.00 reached: $1.00 spent.',
    });
    expect(describeFailure(err, 'platform').message).toBe(
      'Your AI budget is used up (daily budget of $1.00 reached: $1.00 spent). It is refilled when your limit resets or is raised; meanwhile you can add your own Anthropic key in Settings.',
    );
  });
});
