/**
 * Who may try a sign-in factor now: the pure decision behind the sign-in and step-up limits.
 *
 * Failures are counted, not attempts, and under keys that one client cannot spend for another:
 * - `clientHandle`: one client address on one handle (the owner mistyping, or one attacker);
 * - `client`: one client address across every handle (one address trying many accounts);
 * - `handle`: every client on one handle, a larger ceiling against a guess spread over many
 *   addresses. It applies to TOTP codes only, the one factor small enough to guess (10^6 codes):
 *   a passkey assertion cannot be guessed and a recovery code has ~59 bits, so neither is ever
 *   slowed by other people's failures.
 * Past a key's free failures each further attempt waits, the wait doubling per failure up to a
 * cap: a delay, never a lockout. A key's count is forgotten after a quiet spell.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** Failed attempts under one key, and when the last one was. */
export interface Failures {
  count: number;
  lastAt: number;
}

export interface DelayRule {
  /** Failures before any wait. */
  free: number;
  /** The first wait; each further failure doubles it. */
  baseMs: number;
  maxMs: number;
  /** A key quiet this long starts again from zero. */
  forgetAfterMs: number;
}

export const THROTTLE_RULES = {
  clientHandle: { free: 5, baseMs: SECOND, maxMs: 15 * MINUTE, forgetAfterMs: 60 * MINUTE },
  client: { free: 20, baseMs: SECOND, maxMs: 15 * MINUTE, forgetAfterMs: 60 * MINUTE },
  handle: { free: 50, baseMs: SECOND, maxMs: 5 * MINUTE, forgetAfterMs: 60 * MINUTE },
} as const satisfies Record<string, DelayRule>;

export type ThrottleScope = keyof typeof THROTTLE_RULES;
export type Factor = 'passkey' | 'totp' | 'recovery';

/** How long (ms) an attempt under this key must still wait; 0 when it may go ahead. */
export function failureDelay(f: Failures | undefined, rule: DelayRule, now: number): number {
  if (!f || now - f.lastAt >= rule.forgetAfterMs || f.count < rule.free) return 0;
  const wait = Math.min(rule.maxMs, rule.baseMs * 2 ** (f.count - rule.free));
  return Math.max(0, f.lastAt + wait - now);
}

/** The keys whose failures a factor's attempts are judged by (and counted under). */
export function scopesOf(factor: Factor): readonly ThrottleScope[] {
  return factor === 'totp' ? ['clientHandle', 'client', 'handle'] : ['clientHandle', 'client'];
}

export type ThrottleDecision = { ok: true } | { ok: false; retryAfterMs: number; scope: ThrottleScope };

/** Whether an attempt with `factor` may be evaluated now, given the failures under each key. */
export function signInDecision(input: {
  factor: Factor;
  failures: Partial<Record<ThrottleScope, Failures>>;
  now: number;
}): ThrottleDecision {
  let worst: ThrottleDecision = { ok: true };
  for (const scope of scopesOf(input.factor)) {
    const wait = failureDelay(input.failures[scope], THROTTLE_RULES[scope], input.now);
    if (wait > 0 && (worst.ok || wait > worst.retryAfterMs)) worst = { ok: false, retryAfterMs: wait, scope };
  }
  return worst;
}

/** The counter keys of an attempt on `handle` from `client`. */
export function throttleKeys(client: string, handle: string): Record<ThrottleScope, string> {
  return { clientHandle: `fail:${client}:${handle}`, client: `fail:${client}`, handle: `fail:@${handle}` };
}
