import { readFileSync } from 'node:fs';
import { createProxyMetrics } from '@matrixos/proxy/metrics';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { EngineStatus } from '../src/api/engineStatus.ts';
import type { ProxyStatus } from '../src/api/proxyStatus.ts';
import type { InstanceStore } from '../src/instances/store.ts';
import { observeState } from '../src/metrics/observeState.ts';
import { createPlatformMetrics } from '../src/metrics/platformMetrics.ts';

const root = new URL('../../../', import.meta.url);
const dashboard = JSON.parse(readFileSync(new URL('deploy/grafana/matrixos.json', root), 'utf8'));
const rules = parse(readFileSync(new URL('deploy/prometheus/alerts.yml', root), 'utf8'));
const scrapeConfig = parse(readFileSync(new URL('deploy/prometheus/prometheus.yml', root), 'utf8'));

/** Every series name the two services expose (histograms as their _bucket, _sum and _count). */
async function exposedNames(): Promise<Set<string>> {
  const platform = createPlatformMetrics();
  observeState(platform, {
    store: {
      counts: () => ({ total: 0, provisioning: 0, running: 0, paused: 0, stopped: 0 }),
    } as InstanceStore,
    engineStatus: { current: () => ({ ok: true, running: 0, checkedAt: '' }) } as unknown as EngineStatus,
    proxyStatus: { current: () => ({ status: 'ok' }) } as unknown as ProxyStatus,
  });
  const names = new Set<string>();
  for (const text of [await platform.scrape(), await createProxyMetrics().scrape()]) {
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [, name, type] = m as unknown as [string, string, string];
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      else names.add(name);
    }
  }
  return names;
}

const FUNCTIONS_AND_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** The metric names a PromQL expression reads: label matchers, strings, ranges and functions left out. */
export function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const m of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)) {
    const [, name, call] = m as unknown as [string, string, string | undefined];
    if (call || FUNCTIONS_AND_KEYWORDS.has(name.toLowerCase())) continue;
    names.push(name);
  }
  return names;
}

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

describe('monitoring files (deploy/grafana, deploy/prometheus)', () => {
  it.each([
    ['sum by (state) (matrixos_instances)', ['matrixos_instances']],
    ['rate(a_total{code_class="5xx"}[5m]) / rate(b_total[5m]) > 0.1', ['a_total', 'b_total']],
    ['histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))', ['x_bucket']],
    ['up{job="matrixos-platform"} == 0', ['up']],
    [
      'predict_linear(node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"}[6h], 24 * 3600) < 0 and node_filesystem_readonly == 0',
      ['node_filesystem_avail_bytes', 'node_filesystem_readonly'],
    ],
  ])('reads the metric names of %s', (expr, names) => {
    expect(metricNamesIn(expr)).toEqual(names);
  });

  it('the dashboard is importable JSON whose every expression names metrics the services expose', async () => {
    const exposed = await exposedNames();
    expect(dashboard).toMatchObject({
      title: 'Matrix OS',
      uid: expect.any(String),
      schemaVersion: expect.any(Number),
    });
    expect(dashboard.__inputs[0]).toMatchObject({
      name: 'DS_PROMETHEUS',
      type: 'datasource',
      pluginId: 'prometheus',
    });
    const panels = (dashboard.panels as Panel[]).flatMap((p) => [p, ...(p.panels ?? [])]);
    const ids = (dashboard.panels as { id: number }[]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const graphs = panels.filter((p) => p.type !== 'row');
    expect(graphs.length).toBeGreaterThanOrEqual(15);
    const used = new Set<string>();
    for (const p of graphs) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const { expr } of p.targets ?? []) {
        const names = metricNamesIn(expr);
        expect(names.length, expr).toBeGreaterThan(0);
        for (const n of names) {
          expect(exposed, `${p.title}: ${expr}`).toContain(n);
          used.add(n);
        }
      }
    }
    // Every metric of ours is on the dashboard somewhere.
    const ours = [...exposed].filter(
      (n) => n.startsWith('matrixos_') && !n.endsWith('_sum') && !n.endsWith('_count'),
    );
    for (const n of ours) expect(used, n).toContain(n);
  });

  it('the alert rules are well-formed and read only our metrics, up and node_exporter', async () => {
    const exposed = await exposedNames();
    expect(rules.groups.length).toBeGreaterThan(0);
    const alerts: string[] = [];
    for (const group of rules.groups) {
      expect(group.name).toEqual(expect.any(String));
      for (const rule of group.rules) {
        expect(Object.keys(rule).sort()).toEqual(
          expect.arrayContaining(['alert', 'annotations', 'expr', 'labels']),
        );
        expect(rule.alert).toMatch(/^[A-Z][A-Za-z0-9]+$/);
        expect(['critical', 'warning', 'info']).toContain(rule.labels.severity);
        expect(rule.annotations.summary).toEqual(expect.any(String));
        if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smh]$/);
        for (const n of metricNamesIn(rule.expr)) {
          if (n === 'up' || n.startsWith('node_')) continue;
          expect(exposed, `${rule.alert}: ${rule.expr}`).toContain(n);
        }
        alerts.push(rule.alert);
      }
    }
    expect(new Set(alerts).size).toBe(alerts.length);
    // What the issue asks to be alerted on.
    expect(alerts).toEqual(
      expect.arrayContaining([
        'MatrixosInstanceWakeFailures',
        'MatrixosProvisionFailures',
        'MatrixosProxyUpstreamErrors',
        'MatrixosDiskNearlyFull',
      ]),
    );
  });

  it('the scrape example scrapes both services with the admin token, and loads the rules', () => {
    expect(scrapeConfig.rule_files).toEqual(['alerts.yml']);
    const jobs = Object.fromEntries(
      (scrapeConfig.scrape_configs as { job_name: string; authorization?: { type: string } }[]).map((j) => [
        j.job_name,
        j,
      ]),
    );
    // The job names the alerts' up{job=...} expect.
    expect(jobs['matrixos-platform']?.authorization?.type).toBe('Bearer');
    expect(jobs['matrixos-proxy']?.authorization?.type).toBe('Bearer');
    expect(jobs.node).toBeDefined();
  });
});
