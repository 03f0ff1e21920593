import type { Logger } from '@matrixos/shared';

/** What the gateway tells the platform (`PUT {platform}/instance/v1/jobs/next-due`). */
export interface NextDueReport {
  at: string | null;
  /** Runs in progress: each report with one counts as activity, so the idle timer waits. */
  running: number;
}

// Short: the last report is sent during shutdown, which has about 4 s in all.
const TIMEOUT_MS = 2_000;
// A report that failed (no answer, 5xx, 429) is tried again after 1 s, 2 s, 4 s ... up to 30 s:
// a busy platform (or a slow first start) must not leave it not knowing when to wake this instance.
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/**
 * Tells the platform the next time one of this instance's jobs is due (so that it wakes the
 * instance then if it sleeps), whenever that changes. One report in flight at a time; the
 * newest wins; a failed one is retried with backoff until it lands or a newer one replaces it.
 * No platform URL (single-user mode): nothing to tell.
 */
export function createPlatformReporter(opts: {
  url: string | undefined;
  token: string;
  log: Logger;
  retryFirstMs?: number;
}) {
  let sent: string | null = null;
  let pending: NextDueReport | null = null;
  let inFlight: Promise<void> | null = null;
  let retry: { timer: NodeJS.Timeout; delay: number } | null = null;
  const firstDelay = opts.retryFirstMs ?? RETRY_FIRST_MS;

  function retryLater(report: NextDueReport): void {
    const delay = retry ? Math.min(retry.delay * 2, RETRY_MAX_MS) : firstDelay;
    const timer = setTimeout(() => {
      if (pending) return; // a newer report is on its way and supersedes this one
      pending = report;
      void pump();
    }, delay);
    timer.unref();
    retry = { timer, delay };
  }

  async function send(report: NextDueReport): Promise<void> {
    const body = JSON.stringify(report);
    // An unchanged due time is sent again only while runs keep the instance busy (a heartbeat).
    if (body === sent && report.running === 0) return;
    if (retry) clearTimeout(retry.timer);
    let again = true;
    try {
      const res = await fetch(`${opts.url}/instance/v1/jobs/next-due`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (res.ok) sent = body;
      else opts.log.warn({ status: res.status }, 'jobs: the platform refused the next due time');
      // A refusal other than throttling will not get better by itself: the next change is sent.
      again = !res.ok && (res.status < 400 || res.status >= 500 || res.status === 429);
    } catch (err) {
      opts.log.warn({ err: (err as Error).message }, 'jobs: could not tell the platform the next due time');
    }
    if (again) retryLater(report);
    else retry = null; // the next failure starts from the first delay again
  }

  function pump(): Promise<void> {
    if (inFlight) return inFlight;
    inFlight = (async () => {
      while (pending) {
        const next = pending;
        pending = null;
        await send(next);
      }
    })().finally(() => {
      inFlight = null;
    });
    return inFlight;
  }

  return {
    report(state: { nextDue: Date | null; running: number }): Promise<void> {
      if (!opts.url) return Promise.resolve();
      pending = { at: state.nextDue?.toISOString() ?? null, running: state.running };
      return pump();
    },
    /** Waits for the reports already asked for (shutdown: the platform must know before the stop). */
    flush: (): Promise<void> => inFlight ?? Promise.resolve(),
  };
}
