/**
 * What counts as activity, per handle: any routed request (touched when it starts and when it
 * ends) and any connection still open (WebSocket, SSE, a long download). Kept in memory on the
 * hot path; the idle sweep persists it.
 */
export function createActivity(clock: () => number = Date.now) {
  const last = new Map<string, number>();
  const open = new Map<string, number>();
  return {
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
      return open.get(handle) ?? 0;
    },
    /** Last activity seen by this process, if any. */
    lastSeen(handle: string): number | undefined {
      return last.get(handle);
    },
    forget(handle: string): void {
      last.delete(handle);
      open.delete(handle);
    },
  };
}

export type Activity = ReturnType<typeof createActivity>;
