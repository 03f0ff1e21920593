/**
 * What counts as activity, per handle: any routed request (touched when it starts and when it
 * ends), any connection still open (WebSocket, SSE, a long download), and what the instance itself
 * reports (the native edge routes past the router). Kept in memory on the hot path; the idle
 * sweep persists it.
 */
export function createActivity(clock: () => number = Date.now) {
  const last = new Map<string, number>();
  const open = new Map<string, number>();
  /** Sockets the instance said it holds open, as of its last report. */
  const reported = new Map<string, number>();
  return {
    /** The instance's own report: when its owner last did something, and what it holds open. */
    report(handle: string, r: { openSockets: number; lastActiveAt: number }): void {
      // Never later than now: a clock ahead would keep an instance awake for nothing.
      const at = Math.min(r.lastActiveAt, clock());
      if (at > (last.get(handle) ?? 0)) last.set(handle, at);
      if (r.openSockets > 0) {
        reported.set(handle, r.openSockets);
        last.set(handle, clock());
      } else reported.delete(handle);
    },
    touch(handle: string): void {
      last.set(handle, clock());
    },
    /** A request or connection began; call `end` exactly once when it closes. */
    begin(handle: string): void {
      open.set(handle, (open.get(handle) ?? 0) + 1);
      last.set(handle, clock());
    },
    end(handle: string): void {
      const n = (open.get(handle) ?? 1) - 1;
      if (n <= 0) open.delete(handle);
      else open.set(handle, n);
      last.set(handle, clock());
    },
    openCount(handle: string): number {
      return (open.get(handle) ?? 0) + (reported.get(handle) ?? 0);
    },
    /** Last activity seen by this process, if any. */
    lastSeen(handle: string): number | undefined {
      return last.get(handle);
    },
    forget(handle: string): void {
      last.delete(handle);
      open.delete(handle);
      reported.delete(handle);
    },
  };
}

export type Activity = ReturnType<typeof createActivity>;
