import type { Registry } from 'prom-client';

/** One label value's series: plain numbers, updated in place. */
export interface FastSeries {
  observe(seconds: number): void;
}

/**
 * A histogram for the router's hot path, with one label whose values are known up front.
 * prom-client's own `observe` builds a label object and a hash string per call; this one finds
 * the bucket and adds, nothing else (measured in bench/platform/metrics.ts). It is read through
 * the registry like any metric, so the exposition is prom-client's.
 */
export function fastHistogram<L extends string>(opts: {
  name: string;
  help: string;
  label: string;
  values: readonly L[];
  buckets: readonly number[];
  registers: Registry[];
}): Record<L, FastSeries> & { reset(): void } {
  const bounds = [...opts.buckets].sort((a, b) => a - b);
  const series = new Map<L, { counts: Float64Array; sum: number; count: number }>();
  const out = {} as Record<L, FastSeries>;
  for (const value of opts.values) {
    const s = { counts: new Float64Array(bounds.length), sum: 0, count: 0 };
    series.set(value, s);
    out[value] = {
      observe(seconds: number): void {
        s.sum += seconds;
        s.count++;
        for (let i = 0; i < bounds.length; i++) {
          if (seconds <= (bounds[i] as number)) {
            s.counts[i] = (s.counts[i] ?? 0) + 1;
            return;
          }
        }
      },
    };
  }
  const metric = {
    name: opts.name,
    help: opts.help,
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    async get() {
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      for (const [value, s] of series) {
        let cumulative = 0;
        for (let i = 0; i < bounds.length; i++) {
          cumulative += s.counts[i] as number;
          values.push({
            metricName: `${opts.name}_bucket`,
            labels: { le: bounds[i] as number, [opts.label]: value },
            value: cumulative,
          });
        }
        values.push({
          metricName: `${opts.name}_bucket`,
          labels: { le: '+Inf', [opts.label]: value },
          value: s.count,
        });
        values.push({ metricName: `${opts.name}_sum`, labels: { [opts.label]: value }, value: s.sum });
        values.push({ metricName: `${opts.name}_count`, labels: { [opts.label]: value }, value: s.count });
      }
      return {
        name: opts.name,
        help: opts.help,
        type: 'histogram' as const,
        aggregator: 'sum' as const,
        values,
      };
    },
    reset(): void {
      for (const s of series.values()) {
        s.counts.fill(0);
        s.sum = 0;
        s.count = 0;
      }
    },
  };
  // biome-ignore lint/suspicious/noExplicitAny: prom-client types registerMetric for its own classes only
  for (const r of opts.registers) r.registerMetric(metric as any);
  return Object.assign(out, { reset: metric.reset });
}
