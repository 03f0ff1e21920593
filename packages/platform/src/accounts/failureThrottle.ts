import type { RateLimiter } from './rateLimiter.ts';
import {
  type Factor,
  scopesOf,
  signInDecision,
  THROTTLE_RULES,
  type ThrottleDecision,
  throttleKeys,
} from './signInThrottle.ts';

/**
 * The sign-in limits with their counters: `check` before evaluating a factor, `record` after.
 * Used by sign-in and by the dashboard's step-up, which guess the same secrets.
 */
export function createFailureThrottle(limiter: RateLimiter, clock: () => number = Date.now) {
  return {
    check(factor: Factor, client: string, handle: string): ThrottleDecision {
      const keys = throttleKeys(client, handle);
      const failures = Object.fromEntries(scopesOf(factor).map((s) => [s, limiter.failures(keys[s])]));
      return signInDecision({ factor, failures, now: clock() });
    },
    /** A failure counts under every key the factor is judged by; a success forgives the client's own. */
    record(factor: Factor, client: string, handle: string, ok: boolean): void {
      const keys = throttleKeys(client, handle);
      if (ok) limiter.forgive(keys.clientHandle);
      else limiter.fail(scopesOf(factor).map((s) => [keys[s], THROTTLE_RULES[s].forgetAfterMs] as const));
    },
  };
}

export type FailureThrottle = ReturnType<typeof createFailureThrottle>;
