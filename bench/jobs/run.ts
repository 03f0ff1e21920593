/**
 * Jobs benchmark (issue 9 §5), one run on one machine:
 *  - cost of one run of a trivial job: child spawn to exit (median/p95 of N), through runJob;
 *  - schedule accuracy of an awake instance: due → started for a seconds-level job (N runs);
 *  - gateway memory (RSS) with 0 and with 100 registered jobs (the real gateway process);
 *  - schedule accuracy of a sleeping instance on Docker: due → started, wake included
 *    (BENCH_DOCKER=0 skips it).
 *
 *   npm run bench -- jobs
 *
 * Results: printed as markdown and written to bench/results/jobs-<time>.{md,json}.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@matrixos/shared';
import { dockerAvailable } from '@matrixos/shared/testing';
import { runJob } from '../../packages/gateway/src/jobs/runJob.ts';
import { startGateway } from '../../packages/gateway/test/harness.ts';
import { startTestPlatform } from '../../packages/platform/test/harness.ts';

const N = Number(process.env.BENCH_SAMPLES ?? 20);
const root = path.resolve(import.meta.dirname, '../..');
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
  return { n: s.length, median: q(0.5), p95: q(0.95), min: s[0] ?? Number.NaN, max: s.at(-1) ?? Number.NaN };
};
const results: Record<string, unknown> = { at: new Date().toISOString(), node: process.version };

// 1. One trivial run: spawn → exit.
{
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-jobs-'));
  const module = path.join(dir, 'noop.mjs');
  writeFileSync(module, 'export default async function run() {}\n');
  const ms: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const r = await runJob({ module, cwd: dir, env: {}, timeoutMs: 10_000, memoryMb: 64 });
    if (r.status !== 'success') throw new Error(`noop run failed: ${r.error}`);
    ms.push(performance.now() - t0);
  }
  results.runCostMs = stats(ms);
  rmSync(dir, { recursive: true, force: true });
}

// 2. Awake: due → started, for a job every second.
{
  const gw = await startGateway({}, { jobs: true });
  const dir = path.join(gw.home, 'jobs');
  writeFileSync(path.join(dir, 'tick.mjs'), 'export default async function run() {}\n');
  writeFileSync(
    path.join(dir, 'jobs.json'),
    JSON.stringify({ jobs: [{ id: 'tick', module: 'tick.mjs', cron: '* * * * * *' }] }),
  );
  await gw.gateway.jobs.scheduler.reload();
  const want = Math.min(N, 15);
  for (
    let i = 0;
    i < 60 && gw.gateway.jobs.history.runs('tick', 100).filter((r) => r.status !== 'running').length < want;
    i++
  )
    await sleep(1000);
  await gw.api('/api/jobs/tick/disable', { method: 'POST' });
  const runs = gw.gateway.jobs.history.runs('tick', 100).filter((r) => r.scheduledAt);
  results.awakeDueToStartMs = stats(runs.map((r) => Date.parse(r.startedAt) - Date.parse(r.scheduledAt!)));
  await gw.close();
}

// 3. Gateway memory with 0 and 100 jobs (the real process, after its first load).
async function gatewayRss(jobs: number): Promise<number> {
  const home = mkdtempSync(path.join(tmpdir(), 'bench-home-'));
  mkdirSync(path.join(home, 'jobs'), { recursive: true });
  if (jobs > 0) {
    const entries = [];
    for (let i = 0; i < jobs; i++) {
      writeFileSync(
        path.join(home, 'jobs', `job${i}.mjs`),
        `export default async function run() { console.log(${i}); }\n`,
      );
      entries.push({ id: `job${i}`, module: `job${i}.mjs`, cron: `${i % 60} ${i % 24} * * *` });
    }
    writeFileSync(path.join(home, 'jobs', 'jobs.json'), JSON.stringify({ jobs: entries }));
  }
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(root, 'packages/gateway/src/main.ts')], {
    env: {
      ...process.env,
      MATRIXOS_HOME: home,
      PORT: String(port),
      HOST: '127.0.0.1',
      MATRIX_AUTH_TOKEN: 'mxi_bench-token-0123456789',
      LOG_LEVEL: 'silent',
    },
    stdio: 'ignore',
  });
  try {
    for (let i = 0; i < 600; i++) {
      const r = await fetch(`http://127.0.0.1:${port}/api/jobs`, {
        headers: { authorization: 'Bearer mxi_bench-token-0123456789' },
      }).catch(() => null);
      if (r?.ok && ((await r.json()) as { jobs: unknown[] }).jobs.length >= Math.max(jobs, 1)) break;
      await sleep(200);
    }
    await sleep(2000);
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(home, { recursive: true, force: true });
  }
}
results.gatewayRssMb = { starterOnly: await gatewayRss(0), with100Jobs: await gatewayRss(100) };

// 4. Sleeping on Docker: due → started, the wake included.
if (process.env.BENCH_DOCKER !== '0' && (await dockerAvailable())) {
  const t = await startTestPlatform({
    runtime: 'docker',
    env: { IDLE_TIMEOUT: '2s', SWEEP_INTERVAL: '300ms', JOB_WAKE_LEAD: '15s' },
  });
  try {
    await t.provision('bench');
    const put = (p: string, body: string) => t.instance('bench', { method: 'PUT', path: p, body });
    await put('/files/jobs/tick.mjs', 'export default async function run() {}\n');
    await put(
      '/files/jobs/jobs.json',
      JSON.stringify({ jobs: [{ id: 'tick', module: 'tick.mjs', cron: '*/30 * * * * *' }] }),
    );
    const samples: number[] = [];
    const rounds = Number(process.env.BENCH_SLEEP_ROUNDS ?? 3);
    for (let i = 0; i < rounds; i++) {
      while (t.platform.store.get('bench')?.state !== 'stopped') await sleep(100);
      const asleep = Date.now();
      while (t.platform.store.get('bench')?.state !== 'running') await sleep(100);
      while (t.platform.store.get('bench')?.state !== 'stopped') await sleep(100);
      const runs = (await t.instance('bench', { path: '/api/jobs/tick/runs' })).json<{
        runs: { scheduledAt: string; startedAt: string }[];
      }>().runs;
      const woken = runs.filter((r) => Date.parse(r.scheduledAt) > asleep).at(-1);
      if (woken) samples.push(Date.parse(woken.startedAt) - Date.parse(woken.scheduledAt));
    }
    results.sleepingDueToStartMs = { ...stats(samples), wakeLeadMs: 15_000 };
  } finally {
    await t.destroy();
  }
}

const md = [
  '| measure | median | p95 | n |',
  '| --- | --- | --- | --- |',
  ...['runCostMs', 'awakeDueToStartMs', 'sleepingDueToStartMs']
    .filter((k) => results[k])
    .map((k) => {
      const s = results[k] as { median: number; p95: number; n: number };
      return `| ${k} | ${s.median.toFixed(0)} | ${s.p95.toFixed(0)} | ${s.n} |`;
    }),
  '',
  `gateway RSS: ${JSON.stringify(results.gatewayRssMb)}`,
].join('\n');
console.log(md);
const out = path.join(root, 'bench/results');
mkdirSync(out, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
writeFileSync(path.join(out, `jobs-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(path.join(out, `jobs-${stamp}.md`), `${md}\n`);
