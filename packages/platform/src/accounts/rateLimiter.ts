/**
 * Fixed-window counters in memory (one platform process): enough to make guessing a TOTP code or
 * hammering sign-in pointless. `hit` counts an attempt and says whether it is still allowed.
 */
export function createRateLimiter(clock: () => number = Date.now) {
  const windows = new Map<string, { start: number; count: number }>();
  let sweeps = 0;
  return {
    hit(key: string, limit: number, windowMs: number): { ok: true } | { ok: false; retryAfterMs: number } {
      const now = clock();
      // Now and then, forget windows long over, so memory stays bounded by active clients.
      if (++sweeps % 1000 === 0)
        for (const [k, w] of windows) if (now - w.start > 3_600_000) windows.delete(k);
      let w = windows.get(key);
      if (!w || now - w.start >= windowMs) {
        w = { start: now, count: 0 };
        windows.set(key, w);
      }
      w.count++;
      if (w.count > limit) return { ok: false, retryAfterMs: w.start + windowMs - now };
      return { ok: true };
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
