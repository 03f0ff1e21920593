import { ACTIVITY_PATH, ACTIVITY_REPORT_EVERY_MS, type ActivityReport, type Logger } from '@matrixos/shared';

// A report is a few bytes: one that takes longer than this is lost, and tried again.
const TIMEOUT_MS = 5_000;
// A failed report (no answer, 5xx, 429) is tried again after one interval, then two, four, up to
// eight (4 min at 30 s): a platform that is down for a while is not asked twice a minute.
const RETRY_MAX_INTERVALS = 8;
// activityReportBody's bound.
const MAX_REQUESTS = 1_000_000_000;

export interface ActivityReporter {
  /** The owner did something (activity.touch). */
  used(): void;
  /** A WebSocket opened or closed. */
  socketsChanged(): void;
  /** Waits for the report in flight (shutdown: it lands before the process goes). */
  flush(): Promise<void>;
  /** No more reports (shutdown). */
  stop(): void;
}

/**
 * Tells the platform how this instance is used (platform mode): the edge routes the owner's
 * requests past the platform, whose idle sweep would otherwise see none of them. At most one
 * report per `everyMs`, and one in flight: the first use after a quiet interval is told at once,
 * the uses during an interval together at its end. While sockets are open a report goes every
 * interval (they are use), and the one that says they all closed goes too. A failed report is
 * tried again with backoff, with whatever happened since folded in.
 */
export function createActivityReporter(opts: {
  /** The platform's instance API (`config.platformUrl`). */
  url: string;
  token: string;
  log: Logger;
  /** When the owner last did something (activity.last). */
  lastActive: () => Date;
  /** WebSockets open now. */
  openSockets: () => number;
  everyMs?: number;
}): ActivityReporter {
  const everyMs = opts.everyMs ?? ACTIVITY_REPORT_EVERY_MS;
  /** Uses the platform has not been told of. */
  let requests = 0;
  /** What the last report the platform took said was open (before any: none). */
  let reportedSockets = 0;
  let lastSentAt = Number.NEGATIVE_INFINITY;
  let failures = 0;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> | null = null;
  let stopped = false;

  const due = () => requests > 0 || opts.openSockets() > 0 || reportedSockets > 0;

  function schedule(): void {
    if (stopped || timer || inFlight) return;
    const gap = everyMs * Math.min(2 ** Math.max(0, failures - 1), RETRY_MAX_INTERVALS);
    timer = setTimeout(
      () => {
        timer = null;
        inFlight = send().finally(() => {
          inFlight = null;
          if (due()) schedule();
        });
      },
      Math.max(0, lastSentAt + gap - Date.now()),
    );
    timer.unref();
  }

  async function send(): Promise<void> {
    if (!due()) return;
    const report: ActivityReport = {
      requests: Math.min(requests, MAX_REQUESTS),
      openSockets: opts.openSockets(),
      lastActiveAt: opts.lastActive().toISOString(),
    };
    lastSentAt = Date.now();
    let retry = true;
    try {
      const res = await fetch(`${opts.url}${ACTIVITY_PATH}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(report),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (!res.ok) opts.log.warn({ status: res.status }, 'activity: the platform refused the report');
      // A refusal other than throttling will not get better by itself: the next report is new.
      retry = !res.ok && (res.status < 400 || res.status >= 500 || res.status === 429);
    } catch (err) {
      opts.log.warn({ err: (err as Error).message }, 'activity: could not report to the platform');
    }
    if (retry) {
      failures++;
      return;
    }
    failures = 0;
    requests -= report.requests;
    reportedSockets = report.openSockets;
  }

  return {
    used() {
      requests++;
      schedule();
    },
    socketsChanged: schedule,
    flush: () => inFlight ?? Promise.resolve(),
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
