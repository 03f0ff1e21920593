import type { Failures } from './signInThrottle.ts';

/**
 * Counters in memory (one platform process). `hit` is a fixed window of attempts, the flood
 * guard for a client's own requests; `failures`/`fail`/`forgive` count failed sign-in attempts,
 * which `signInThrottle.ts` turns into delays.
 */
export function createRateLimiter(clock: () => number = Date.now) {
  const windows = new Map<string, { start: number; count: number }>();
  const failed = new Map<string, Failures>();
  let sweeps = 0;

  /** Now and then, forget counters long over, so memory stays bounded by active clients. */
  function sweep(now: number): void {
    if (++sweeps % 1000 !== 0) return;
    for (const [k, w] of windows) if (now - w.start > 3_600_000) windows.delete(k);
    for (const [k, f] of failed) if (now - f.lastAt > 3_600_000) failed.delete(k);
  }

  return {
    hit(key: string, limit: number, windowMs: number): { ok: true } | { ok: false; retryAfterMs: number } {
      const now = clock();
      sweep(now);
      let w = windows.get(key);
      if (!w || now - w.start >= windowMs) {
        w = { start: now, count: 0 };
        windows.set(key, w);
      }
      w.count++;
      if (w.count > limit) return { ok: false, retryAfterMs: w.start + windowMs - now };
      return { ok: true };
    },

    failures: (key: string): Failures | undefined => failed.get(key),
    /** Counts a failed attempt under each key (a count quiet for its `forgetAfterMs` starts again). */
    fail(keys: readonly (readonly [key: string, forgetAfterMs: number])[]): void {
      const now = clock();
      sweep(now);
      for (const [key, forgetAfterMs] of keys) {
        const f = failed.get(key);
        const count = f && now - f.lastAt < forgetAfterMs ? f.count + 1 : 1;
        failed.set(key, { count, lastAt: now });
      }
    },
    /** A success forgives that client's own failures on that handle. */
    forgive(key: string): void {
      failed.delete(key);
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
