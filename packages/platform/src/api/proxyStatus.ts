/** The LLM proxy's admin API as last seen; `lastError` stays after it recovers (when, and why). */
export interface ProxyHealth {
  status: 'ok' | 'unreachable' | 'not_configured';
  checkedAt: string | null;
  error?: string;
  lastError: { message: string; at: string } | null;
}

/**
 * Looks at the LLM proxy on a timer, never per request (like the engine's status). The platform
 * works without it (sign-in, instances, the router); only new instances' AI keys wait for it.
 */
export function createProxyStatus(deps: {
  ping?: () => Promise<void>;
  intervalMs?: number;
  retryMs?: number;
}) {
  const intervalMs = deps.intervalMs ?? 15_000;
  // While it does not answer, sooner (1 s, doubling up to the interval): a proxy that starts just
  // after the platform (as `npm start` starts them) reads as up within a second or two, not 15 s.
  const retryMs = deps.retryMs ?? 1000;
  let failures = 0;
  let current: ProxyHealth = deps.ping
    ? { status: 'unreachable', checkedAt: null, error: 'not checked yet', lastError: null }
    : { status: 'not_configured', checkedAt: null, lastError: null };
  let inFlight: Promise<ProxyHealth> | null = null;
  let timer: NodeJS.Timeout | undefined;

  async function check(ping: () => Promise<void>): Promise<ProxyHealth> {
    const checkedAt = new Date().toISOString();
    try {
      await ping();
      return { status: 'ok', checkedAt, lastError: current.lastError };
    } catch (err) {
      const message = (err as Error).message;
      return { status: 'unreachable', checkedAt, error: message, lastError: { message, at: checkedAt } };
    }
  }

  function refresh(): Promise<ProxyHealth> {
    const ping = deps.ping;
    if (!ping) return Promise.resolve(current);
    inFlight ??= check(ping).then((h) => {
      current = h;
      inFlight = null;
      return h;
    });
    return inFlight;
  }

  return {
    current: (): ProxyHealth => current,
    refresh,
    /** The first look (not awaited: a proxy starting after the platform is normal), then a timer. */
    start(): void {
      if (!deps.ping || timer) return;
      const next = async () => {
        const h = await refresh();
        failures = h.status === 'ok' ? 0 : failures + 1;
        const wait = failures === 0 ? intervalMs : Math.min(intervalMs, retryMs * 2 ** (failures - 1));
        if (timer) {
          timer = setTimeout(() => void next(), wait);
          timer.unref();
        }
      };
      timer = setTimeout(() => void next(), 0);
      timer.unref();
    },
    stop(): void {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

export type ProxyStatus = ReturnType<typeof createProxyStatus>;
