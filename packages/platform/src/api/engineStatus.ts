import type { RuntimeDriver } from '../runtime/driver.ts';

export type EngineHealth =
  | { ok: true; running: number; checkedAt: string }
  | { ok: false; error: string; checkedAt: string | null };

/** How long one look at the engine may take before it counts as not answering. */
const CHECK_TIMEOUT_MS = 2000;

/**
 * The engine's health as last seen: refreshed on a timer and whenever something that changes it
 * happens (`refresh()`, for the engine's events), never by a request. At 151 instances a list
 * per anonymous `GET /health` saturated dockerd at ~20 requests/s.
 */
export function createEngineStatus(deps: { runtime: RuntimeDriver; intervalMs?: number }) {
  const intervalMs = deps.intervalMs ?? 15_000;
  let current: EngineHealth = { ok: false, error: 'not checked yet', checkedAt: null };
  let inFlight: Promise<EngineHealth> | null = null;
  /** The last failure seen, kept after the engine recovers (for `/health`). */
  let lastError: { message: string; at: string } | null = null;
  let timer: NodeJS.Timeout | undefined;

  async function check(): Promise<EngineHealth> {
    let timeout: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      deps.runtime.list().then(
        (list): EngineHealth => ({
          ok: true,
          running: list.filter((i) => i.state === 'running').length,
          checkedAt: new Date().toISOString(),
        }),
        (err: Error): EngineHealth => ({
          ok: false,
          error: err.message,
          checkedAt: new Date().toISOString(),
        }),
      ),
      new Promise<EngineHealth>((resolve) => {
        timeout = setTimeout(
          () =>
            resolve({
              ok: false,
              error: `engine did not answer within ${CHECK_TIMEOUT_MS / 1000} s`,
              checkedAt: new Date().toISOString(),
            }),
          CHECK_TIMEOUT_MS,
        );
        timeout.unref();
      }),
    ]);
    clearTimeout(timeout);
    return result;
  }

  /** Looks at the engine now (one look at a time, however many ask). */
  function refresh(): Promise<EngineHealth> {
    inFlight ??= check().then((h) => {
      current = h;
      if (!h.ok) lastError = { message: h.error, at: h.checkedAt ?? new Date().toISOString() };
      inFlight = null;
      return h;
    });
    return inFlight;
  }

  return {
    current: (): EngineHealth => current,
    lastError: () => lastError,
    refresh,
    /** The first look, then one every `intervalMs`. */
    async start(): Promise<void> {
      await refresh();
      timer ??= setInterval(() => void refresh(), intervalMs);
      timer.unref();
    },
    stop(): void {
      clearInterval(timer);
      timer = undefined;
    },
  };
}

export type EngineStatus = ReturnType<typeof createEngineStatus>;
