import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ReconcileReport } from '../orchestrator/orchestrator.ts';
import { fastHistogram } from './fastHistogram.ts';

/** Status classes of the router's answers; `aborted`: the client left before an answer was sent. */
const CODE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'aborted'] as const;

/** Start and provision take seconds (image, health check); routing takes milliseconds. */
const SLOW_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60];
const ROUTER_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** How a reconcile's report names each repair (the `kind` label). */
const REPAIRS: Record<Exclude<keyof ReconcileReport, 'errors'>, string> = {
  adopted: 'adopted',
  removedOrphans: 'removed_orphan',
  recreated: 'recreated',
  started: 'started',
  stopped: 'stopped',
  reserved: 'reserved',
};

export type SignInMethod = 'passkey' | 'totp' | 'recovery' | 'oidc';

const START = Symbol('matrixos.metrics.start');
type Timed = http.ServerResponse & { [START]?: number };

/**
 * The platform's Prometheus metrics (`GET /metrics`, docs/operations.md "Metrics"). Names follow
 * Prometheus conventions: `matrixos_` prefix, `_total` counters, `_seconds` durations; labels have
 * a handful of values each (no handle, no user: those belong in the logs).
 */
export function createPlatformMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  const registers = [registry];
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const provisions = new Counter({
    name: 'matrixos_provisions_total',
    help: 'Provisions, by outcome (created, existing: asked again for one that exists, refused: bad input or a taken name, failed)',
    labelNames: ['outcome'],
    registers,
  });
  const provisionSeconds = new Histogram({
    name: 'matrixos_provision_duration_seconds',
    help: 'How long a provision took, by outcome',
    labelNames: ['outcome'],
    buckets: SLOW_BUCKETS,
    registers,
  });
  const wakes = new Counter({
    name: 'matrixos_wakes_total',
    help: 'Starts or resumes of a sleeping instance for a request, by outcome (ok, failed)',
    labelNames: ['outcome'],
    registers,
  });
  const wakeSeconds = new Histogram({
    name: 'matrixos_wake_duration_seconds',
    help: 'How long a wake took until the instance answered, by outcome',
    labelNames: ['outcome'],
    buckets: SLOW_BUCKETS,
    registers,
  });
  const routerRequests = new Counter({
    name: 'matrixos_router_requests_total',
    help: 'HTTP requests the router answered for instances, by status class',
    labelNames: ['code_class'],
    registers,
  });
  const routerSeconds = fastHistogram({
    name: 'matrixos_router_request_duration_seconds',
    help: 'Time from a request reaching the router to its response ending (a wake included), by status class',
    label: 'code_class',
    values: CODE_CLASSES,
    buckets: ROUTER_BUCKETS,
    registers,
  });
  const requestsByClass = Object.fromEntries(
    CODE_CLASSES.map((c) => [c, routerRequests.labels(c)]),
  ) as Record<(typeof CODE_CLASSES)[number], ReturnType<typeof routerRequests.labels>>;
  const openWebSockets = new Gauge({
    name: 'matrixos_router_open_websockets',
    help: 'WebSockets open through the router to instances',
    registers,
  });
  const repairs = new Counter({
    name: 'matrixos_reconciler_repairs_total',
    help: 'What the reconciler changed to make the engine match the database, by kind',
    labelNames: ['kind'],
    registers,
  });
  const reconcileErrors = new Counter({
    name: 'matrixos_reconciler_errors_total',
    help: 'Instances the reconciler could not repair',
    registers,
  });
  const signIns = new Counter({
    name: 'matrixos_signins_total',
    help: 'Sign-in attempts, by method (passkey, totp, recovery, oidc) and outcome (success, failure)',
    labelNames: ['method', 'outcome'],
    registers,
  });
  const engineReconnects = new Counter({
    name: 'matrixos_engine_event_stream_reconnects_total',
    help: "Times the engine's event stream broke and was followed again",
    registers,
  });
  for (const r of Object.values(REPAIRS)) repairs.labels(r);
  for (const c of CODE_CLASSES) requestsByClass[c];

  /** The router's close listener, shared by every response (no closure per request). */
  function onResponseClosed(this: Timed): void {
    const started = this[START] ?? performance.now();
    const cls = this.headersSent ? (CODE_CLASSES[Math.floor(this.statusCode / 100) - 1] ?? '5xx') : 'aborted';
    requestsByClass[cls].inc();
    routerSeconds[cls].observe((performance.now() - started) / 1000);
  }

  /** Times a piece of work, counting it under the outcome its result (or failure) gets. */
  function timed<T>(
    counter: Counter<'outcome'>,
    histogram: Histogram<'outcome'>,
    work: Promise<T>,
    outcomeOf: (v: T) => string,
    failureOf: (err: unknown) => string,
  ): Promise<T> {
    const end = histogram.startTimer();
    return work.then(
      (v) => {
        const outcome = outcomeOf(v);
        counter.inc({ outcome });
        end({ outcome });
        return v;
      },
      (err: unknown) => {
        const outcome = failureOf(err);
        counter.inc({ outcome });
        end({ outcome });
        throw err;
      },
    );
  }

  const refusedOrFailed = (err: unknown) => {
    const status = (err as { status?: number }).status;
    return status !== undefined && status >= 400 && status < 500 ? 'refused' : 'failed';
  };

  return {
    registry,
    /** The Prometheus text exposition of every metric. */
    scrape: () => registry.metrics(),
    contentType: registry.contentType,
    /** Numbers read at scrape time (instances by state, the engine's health). */
    gauge(
      name: string,
      help: string,
      labelName: string | null,
      read: () => Record<string, number> | number,
    ): void {
      new Gauge({
        name,
        help,
        labelNames: labelName ? [labelName] : [],
        registers,
        collect() {
          const v = read();
          if (typeof v === 'number') this.set(v);
          else for (const [k, n] of Object.entries(v)) if (labelName) this.set({ [labelName]: k }, n);
        },
      });
    },
    provision<T extends { created: boolean }>(work: Promise<T>): Promise<T> {
      return timed(
        provisions,
        provisionSeconds,
        work,
        (r) => (r.created ? 'created' : 'existing'),
        refusedOrFailed,
      );
    },
    wake<T>(work: Promise<T>): Promise<T> {
      return timed(
        wakes,
        wakeSeconds,
        work,
        () => 'ok',
        () => 'failed',
      );
    },
    /** Call as the router takes a request: its answer's class and time are counted when it ends. */
    routerRequest(res: http.ServerResponse): void {
      (res as Timed)[START] = performance.now();
      res.on('close', onResponseClosed);
    },
    webSocketOpened(socket: Duplex): void {
      openWebSockets.inc();
      socket.once('close', () => openWebSockets.dec());
    },
    reconciled(report: ReconcileReport): void {
      for (const [key, kind] of Object.entries(REPAIRS))
        repairs.inc({ kind }, report[key as keyof typeof REPAIRS].length);
      reconcileErrors.inc(report.errors.length);
    },
    signIn(method: SignInMethod, ok: boolean): void {
      signIns.inc({ method, outcome: ok ? 'success' : 'failure' });
    },
    engineReconnected(): void {
      engineReconnects.inc();
    },
  };
}

export type PlatformMetrics = ReturnType<typeof createPlatformMetrics>;
