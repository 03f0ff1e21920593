import type { EngineStatus } from '../api/engineStatus.ts';
import type { ProxyStatus } from '../api/proxyStatus.ts';
import type { InstanceStore } from '../instances/store.ts';
import type { PlatformMetrics } from './platformMetrics.ts';

/** Gauges read at scrape time from what the platform already knows (no engine call). */
export function observeState(
  metrics: PlatformMetrics,
  deps: { store: InstanceStore; engineStatus: EngineStatus; proxyStatus: ProxyStatus },
): void {
  metrics.gauge('matrixos_instances', 'Instances by state (the database: what should be)', 'state', () => {
    const { total: _total, ...byState } = deps.store.counts();
    return byState;
  });
  metrics.gauge(
    'matrixos_engine_up',
    'Whether the engine answered its last health check (1) or not (0)',
    null,
    () => (deps.engineStatus.current().ok ? 1 : 0),
  );
  metrics.gauge(
    'matrixos_llm_proxy_up',
    "Whether the LLM proxy's admin API answered its last check (1), else 0 (also 0 when none is configured: see /health)",
    null,
    () => (deps.proxyStatus.current().status === 'ok' ? 1 : 0),
  );
}
