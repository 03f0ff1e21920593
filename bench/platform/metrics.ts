/**
 * Issue 10 §3: what the router's metrics cost. One platform (process runtime, the streaming test
 * instance), one instance, `GET /headers` through the router from a load generator in a worker
 * thread (its own event loop), rounds alternating metrics on and off in the same run; medians.
 * Also the cost of one observation: the router's histogram (`fastHistogram`) against
 * prom-client's own labelled `Histogram.observe`.
 *
 *   INSTANCE_IMAGE=… bash scripts/node24.sh node bench/platform/metrics.ts
 *   PART=observe bash scripts/node24.sh node bench/platform/metrics.ts   # the observation cost only
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Histogram, Registry } from 'prom-client';
import { fastHistogram } from '../../packages/platform/src/metrics/fastHistogram.ts';
import { startTestPlatform } from '../../packages/platform/test/harness.ts';

const FIXTURE = fileURLToPath(
  new URL('../../packages/platform/test/fixtures/streamingInstance.ts', import.meta.url),
);
const ROUNDS = Number(process.env.ROUNDS ?? 8);
const REQUESTS = Number(process.env.REQUESTS ?? 4000);
const CONCURRENCY = 16;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** The load generator: keep-alive connections, `CONCURRENCY` requests at a time. */
const LOAD = `
const http = require('node:http');
const { parentPort, workerData: { port, token, requests, concurrency } } = require('node:worker_threads');
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
function one() {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    http.get({ host: '127.0.0.1', port, path: '/headers', agent,
      headers: { host: 'bench.localhost:' + port, authorization: 'Bearer ' + token } }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    }).on('error', reject);
  });
}
parentPort.on('message', async () => {
  const latencies = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < requests) latencies.push(await one());
  }));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  parentPort.postMessage({ rps: requests / seconds, p50: latencies[latencies.length >> 1], p99: latencies[Math.floor(latencies.length * 0.99)] });
});
`;

async function routerRounds() {
  const t = await startTestPlatform({ runtime: 'process', command: [process.execPath, FIXTURE] });
  try {
    const token = await t.provision('bench');
    const worker = new Worker(LOAD, {
      eval: true,
      workerData: { port: t.port, token, requests: REQUESTS, concurrency: CONCURRENCY },
    });
    const round = () =>
      new Promise<{ rps: number; p50: number; p99: number }>((resolve) => {
        worker.once('message', resolve);
        worker.postMessage('go');
      });
    const metrics = t.platform.metrics;
    const on = metrics.routerRequest;
    const off = () => {};
    // Warm up both paths (JIT, connections).
    metrics.routerRequest = on;
    await round();
    const results: Record<'on' | 'off', { rps: number; p50: number; p99: number }[]> = { on: [], off: [] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const arm of i % 2 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        metrics.routerRequest = arm === 'on' ? on : off;
        results[arm].push(await round());
      }
    }
    metrics.routerRequest = on;
    await worker.terminate();
    const counted = (await metrics.scrape()).match(
      /^matrixos_router_requests_total\{code_class="2xx"\} (\d+)/m,
    )?.[1];
    return { results, counted: Number(counted) };
  } finally {
    await t.destroy();
  }
}

async function observeCost() {
  const N = 1_000_000;
  const registry = new Registry();
  const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
  const fast = fastHistogram({
    name: 'a_seconds',
    help: 'a',
    label: 'code_class',
    values: ['2xx', '5xx'],
    buckets,
    registers: [registry],
  });
  const prom = new Histogram({
    name: 'b_seconds',
    help: 'b',
    labelNames: ['code_class'],
    buckets,
    registers: [registry],
  });
  const child = prom.labels('2xx');
  const time = (f: (i: number) => void) => {
    const runs: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) f(i);
      runs.push(((performance.now() - t0) * 1e6) / N);
    }
    return median(runs);
  };
  return {
    fast: time((i) => fast['2xx'].observe((i % 1000) / 10000)),
    promLabels: time((i) => prom.observe({ code_class: '2xx' }, (i % 1000) / 10000)),
    promChild: time((i) => child.observe((i % 1000) / 10000)),
  };
}

if (process.env.PART !== 'observe') {
  const { results, counted } = await routerRounds();
  const row = (arm: 'on' | 'off') => {
    const r = results[arm];
    return `| ${arm.padEnd(7)} | ${median(r.map((x) => x.rps))
      .toFixed(0)
      .padStart(9)} | ${median(r.map((x) => x.p50))
      .toFixed(2)
      .padStart(7)} | ${median(r.map((x) => x.p99))
      .toFixed(2)
      .padStart(7)} |`;
  };
  console.log(
    `router, GET /headers, ${CONCURRENCY} concurrent, ${ROUNDS} rounds of ${REQUESTS} per arm (medians)`,
  );
  console.log('| metrics | req/s     | p50 ms  | p99 ms  |');
  console.log('| ------- | --------- | ------- | ------- |');
  console.log(row('on'));
  console.log(row('off'));
  const rpsOn = median(results.on.map((x) => x.rps));
  const rpsOff = median(results.off.map((x) => x.rps));
  console.log(
    `throughput with metrics: ${(((rpsOn - rpsOff) / rpsOff) * 100).toFixed(1)}% (router requests counted: ${counted})`,
  );
}
const c = await observeCost();
console.log('\none observation, ns (median of 5 × 1M):');
console.log(`| fastHistogram | ${c.fast.toFixed(1)} |`);
console.log(`| prom-client observe({labels}) | ${c.promLabels.toFixed(1)} |`);
console.log(`| prom-client labels(..).observe | ${c.promChild.toFixed(1)} |`);
process.exit(0);
