import { describe, expect, it } from 'vitest';
import { type Failures, failureDelay, signInDecision, THROTTLE_RULES } from './signInThrottle.ts';

const S = 1000;
const M = 60 * S;
const NOW = 1_000_000_000;
const f = (count: number, agoMs = 0): Failures => ({ count, lastAt: NOW - agoMs });

describe('failureDelay', () => {
  const rule = THROTTLE_RULES.clientHandle; // 5 free, 1 s doubling to 15 min, forgotten after 1 h
  it.each([
    ['no failures', undefined, 0],
    ['four failures just now', f(4), 0],
    ['the fifth failure just now: wait 1 s', f(5), 1 * S],
    ['the fifth failure 400 ms ago: 600 ms left', f(5, 400), 600],
    ['the fifth failure 1 s ago: go ahead', f(5, 1 * S), 0],
    ['six failures: 2 s', f(6), 2 * S],
    ['eight failures: 8 s', f(8), 8 * S],
    ['twenty failures: capped at 15 min', f(20), 15 * M],
    ['a thousand failures: still 15 min, never a lockout', f(1000), 15 * M],
    ['twenty failures, 15 min ago: go ahead', f(20, 15 * M), 0],
    ['twenty failures, forgotten after an hour of quiet', f(20, 60 * M), 0],
  ])('%s', (_name, failures, wait) => {
    expect(failureDelay(failures, rule, NOW)).toBe(wait);
  });
});

describe('signInDecision', () => {
  it.each([
    ['a fresh TOTP attempt', 'totp', {}, { ok: true }],
    [
      'TOTP after this client failed five times on the handle',
      'totp',
      { clientHandle: f(5) },
      { ok: false, retryAfterMs: 1 * S, scope: 'clientHandle' },
    ],
    // The attacker's failures are under the attacker's keys: the owner's keys are clean.
    [
      'TOTP from another client while a stranger failed 49 times on the handle',
      'totp',
      { handle: f(49) },
      { ok: true },
    ],
    [
      'TOTP while 50 failures from everywhere are on the handle (a spread guess): wait',
      'totp',
      { handle: f(50) },
      { ok: false, retryAfterMs: 1 * S, scope: 'handle' },
    ],
    [
      'TOTP on a handle with 100 failures: capped at 5 min',
      'totp',
      { handle: f(100) },
      { ok: false, retryAfterMs: 5 * M, scope: 'handle' },
    ],
    [
      'a passkey on a handle with 1000 failures from everywhere: never slowed',
      'passkey',
      { handle: f(1000) },
      { ok: true },
    ],
    [
      'a recovery code on a handle with 1000 failures: never slowed',
      'recovery',
      { handle: f(1000) },
      { ok: true },
    ],
    [
      'a passkey from a client that itself failed 5 times on the handle',
      'passkey',
      { clientHandle: f(5) },
      { ok: false, retryAfterMs: 1 * S, scope: 'clientHandle' },
    ],
    [
      'any factor from one address that failed 20 times across handles',
      'recovery',
      { client: f(20) },
      { ok: false, retryAfterMs: 1 * S, scope: 'client' },
    ],
    ['19 failures across handles from one address: go ahead', 'totp', { client: f(19) }, { ok: true }],
    [
      'the longest wait wins when several keys say wait',
      'totp',
      { clientHandle: f(6), client: f(20), handle: f(53) },
      { ok: false, retryAfterMs: 8 * S, scope: 'handle' },
    ],
  ] as const)('%s', (_name, factor, failures, decision) => {
    expect(signInDecision({ factor, failures, now: NOW })).toEqual(decision);
  });
});
