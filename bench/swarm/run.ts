/**
 * The density figures on a real 3-node swarm (issue 11 §3, "the same figures on the 3-node swarm
 * for 30 instances"): the platform as its own process (`main.ts`, RUNTIME=swarm) in its seat
 * container's network namespace, as scripts/ci/swarm.sh runs the cluster tests:
 *  - provision time (the first alone, then the rest SWARM_BENCH_PARALLEL at a time);
 *  - router p50/p99 to one hot instance at 1 and at N running, next to a direct connection to
 *    its task's address in the same run;
 *  - `GET /containers`, the admin overview (cold, warm), reconcile and platform RSS at N;
 *  - WebSockets held through the router across the instances;
 *  - wake from stopped (5 samples);
 *  - after a platform restart with a 30 s idle limit: a sweep that stops the N-1 idle ones while
 *    wrk keeps the hot one busy.
 *
 *   npm run bench -- swarm     (needs root, the main Docker engine and wrk; ~10 min)
 *
 * Started outside the cluster, it runs itself through scripts/ci/swarm.sh (which brings up the
 * cluster and the seat, runs this inside it, and tears it all down). Sizes: SWARM_BENCH_N (30),
 * SWARM_BENCH_PARALLEL (6), SWARM_BENCH_WS (300). Results: bench/results/swarm-<time>.{md,json}.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, newToken } from '@matrixos/shared';
import Docker from 'dockerode';
import { httpRequest } from '../../packages/platform/test/harness.ts';
import { writeResults } from '../lib/results.ts';
import { median, pct, pool, procStatus } from '../lib/stats.ts';
import { holdWebSockets } from '../lib/websockets.ts';
import { type WrkResult, wrk } from '../lib/wrk.ts';

const root = path.resolve(import.meta.dirname, '../..');
const DIR = process.env.SWARM_DIR;
if (!DIR) {
  // Outside the cluster: bring it up and come back in through the CI script.
  execFileSync('bash', [path.join(root, 'scripts/ci/swarm.sh'), 'node', import.meta.filename], {
    cwd: root,
    stdio: 'inherit',
  });
  process.exit(0);
}

const N = Number(process.env.SWARM_BENCH_N ?? 30);
const PARALLEL = Number(process.env.SWARM_BENCH_PARALLEL ?? 6);
const WS_COUNT = Number(process.env.SWARM_BENCH_WS ?? 300);
const WS_SECONDS = 20;
const sock = (n: number) => path.join(DIR, `n${n}`, 'docker.sock');
const manager = new Docker({ socketPath: sock(1) });
const now = () => performance.now();
const log = (...a: unknown[]) =>
  console.error(`[swarm-bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'matrixos-swarm-bench-'));
  const platformId = `swb${randomBytes(3).toString('hex')}`;
  const adminToken = newToken('mxa');
  const port = await freePort();
  let platform!: ChildProcess;
  const startPlatform = async (idle: string): Promise<number> => {
    const t0 = now();
    // As deployed (the image, the systemd unit): 8 MiB semi-spaces.
    platform = spawn(process.execPath, ['--max-semi-space-size=8', 'packages/platform/src/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        RUNTIME: 'swarm',
        DATA_DIR: dataDir,
        PLATFORM_ID: platformId,
        PLATFORM_PORT: String(port),
        PLATFORM_HOST: '127.0.0.1',
        PLATFORM_ADMIN_TOKEN: adminToken,
        DOCKER_HOST: `unix://${sock(1)}`,
        SWARM_NODE_ENGINES: [1, 2, 3].map((n) => `node${n}=unix://${sock(n)}`).join(','),
        PROXY_ADMIN_URL: 'none',
        IDLE_TIMEOUT: idle,
        SWEEP_INTERVAL: '24h',
        WAKE_TIMEOUT: '60s',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    for (let i = 0; ; i++) {
      if ((await httpRequest(port, { path: '/health' }).catch(() => null))?.status === 200) break;
      if (i > 1200) throw new Error('platform did not come up');
      await sleep(50);
    }
    return now() - t0;
  };
  const stopPlatform = async () => {
    platform.kill('SIGTERM');
    await new Promise((r) => platform.once('exit', r));
  };
  const admin = (method: string, p: string) =>
    httpRequest(port, { method, path: p, headers: { authorization: `Bearer ${adminToken}` } });
  const timedAdmin = async (method: string, p: string) => {
    const t0 = now();
    const r = await admin(method, p);
    if (r.status !== 200) throw new Error(`${method} ${p}: ${r.status} ${r.text}`);
    return { ms: now() - t0, body: r };
  };
  const rssMiB = () => procStatus(platform.pid!).rssMiB;

  const tokens = new Map<string, string>();
  const provisionMs: number[] = [];
  const provision = async (handle: string) => {
    const t0 = now();
    const r = await httpRequest(port, {
      method: 'POST',
      path: '/containers/provision',
      body: { handle },
      headers: { authorization: `Bearer ${adminToken}` },
    });
    if (r.status !== 201) throw new Error(`provision ${handle}: ${r.status} ${r.text}`);
    tokens.set(handle, r.json<{ token: string }>().token);
    provisionMs.push(now() - t0);
  };
  const hostOf = (h: string) => `${h}.localhost:${port}`;
  const get = (h: string, p = '/health') =>
    httpRequest(port, { path: p, host: hostOf(h), headers: { authorization: `Bearer ${tokens.get(h)}` } });
  const view = async (h: string) =>
    (await admin('GET', `/containers/${h}`)).json<{ instance: { engineId: string; node: string } }>()
      .instance;
  /** The hot instance's task address on its network, for the direct comparison. */
  const taskAddress = async (h: string) => {
    const tasks = (await manager.listTasks({
      filters: { service: [(await view(h)).engineId], 'desired-state': ['running'] },
    })) as { NetworksAttachments?: { Network: { Spec: { Name: string } }; Addresses: string[] }[] }[];
    const att = tasks[0]?.NetworksAttachments?.find((a) => a.Network.Spec.Name === `${platformId}-u-${h}`);
    return att!.Addresses[0]!.split('/')[0]!;
  };

  const results: Record<string, unknown> = {};
  const routerByRunning: { running: number; router: WrkResult; direct: WrkResult }[] = [];
  const hotRouter = async (running: number) => {
    const direct = `http://${await taskAddress('hot')}:4000/health`;
    await wrk(`http://127.0.0.1:${port}/health`, hostOf('hot'), 2, tokens.get('hot')); // warm-up
    const router = await wrk(`http://127.0.0.1:${port}/health`, hostOf('hot'), 8, tokens.get('hot'));
    const d = await wrk(direct, null, 8, tokens.get('hot'));
    routerByRunning.push({ running, router, direct: d });
    log(
      `router at ${running} running: p50 ${router.p50} p99 ${router.p99} (direct p50 ${d.p50} p99 ${d.p99})`,
    );
  };

  try {
    const startupMs = await startPlatform('24h');
    log(`platform up in ${startupMs.toFixed(0)} ms`);
    const handles = ['hot', ...Array.from({ length: N - 1 }, (_, i) => `u${String(i).padStart(2, '0')}`)];
    await provision('hot');
    await hotRouter(1);
    await pool(handles.slice(1), PARALLEL, provision);
    const nodes = new Map<string, number>();
    for (const h of handles) {
      const n = (await view(h)).node;
      nodes.set(n, (nodes.get(n) ?? 0) + 1);
    }
    results.perNode = Object.fromEntries(nodes);
    log('provisioned', results.perNode);
    await sleep(10_000); // the new ones settle: startup work is not what is measured
    await hotRouter(N);

    const list = await timedAdmin('GET', '/containers?limit=100');
    await sleep(5500); // past the overview's 5 s cache
    const cold = await timedAdmin('GET', '/admin/overview');
    const warm = await timedAdmin('GET', '/admin/overview');
    const reconcile = await timedAdmin('POST', '/admin/sweep');
    const again = await timedAdmin('POST', '/admin/sweep');
    results.atN = {
      listMs: list.ms,
      overviewColdMs: cold.ms,
      overviewWarmMs: warm.ms,
      reconcileMs: [reconcile.ms, again.ms],
      platformRssMiB: rssMiB(),
    };
    log('at N', results.atN);
    results.websockets = await holdWebSockets({
      url: `ws://127.0.0.1:${port}/ws`,
      count: WS_COUNT,
      seconds: WS_SECONDS,
      headersOf: (i) => {
        const h = handles[i % handles.length]!;
        return { host: hostOf(h), authorization: `Bearer ${tokens.get(h)}` };
      },
    });
    log('websockets', results.websockets);

    // Wake from stopped, one at a time on a quiet platform.
    const wakes: number[] = [];
    for (const h of handles.slice(1, 6)) {
      if ((await admin('POST', `/containers/${h}/stop`)).status !== 200) throw new Error(`stop ${h}`);
      const t0 = now();
      const r = await get(h);
      if (r.status !== 200) throw new Error(`wake ${h}: ${r.status} ${r.text}`);
      wakes.push(now() - t0);
    }
    results.wakeMs = { median: median(wakes), samples: wakes };
    log('wakes', results.wakeMs);

    // The sweep: a restart with a 30 s idle limit, the hot one kept busy meanwhile.
    await stopPlatform();
    await sleep(31_000);
    const restartMs = await startPlatform('30s');
    {
      const baseline = await wrk(`http://127.0.0.1:${port}/health`, hostOf('hot'), 8, tokens.get('hot'));
      const during = wrk(`http://127.0.0.1:${port}/health`, hostOf('hot'), 10, tokens.get('hot'));
      await sleep(1000);
      const t0 = now();
      const r = await admin('POST', '/admin/sweep');
      const sweepMs = now() - t0;
      const busy = await during;
      const report = r.json<{ stopped: string[] }>();
      results.sweep = {
        restartMs,
        stopped: report.stopped.length,
        stoppedHot: report.stopped.includes('hot'),
        sweepMs,
        busyTenantRps: { before: baseline.rps, during: busy.rps },
        busyTenantP99: { before: baseline.p99, during: busy.p99 },
        busyTenantErrors: { before: baseline.errors, during: busy.errors },
      };
      log('sweep', results.sweep);
    }
    results.provisionMs = {
      first: provisionMs[0],
      restMedian: median(provisionMs.slice(1)),
      restP90: pct(provisionMs.slice(1), 90),
    };
    results.routerByRunning = routerByRunning;

    const md = [
      `Run ${new Date().toISOString()}, 3-node swarm (scripts/swarm-cluster.sh), ${N} instances (${[...nodes].map(([n, c]) => `${n}: ${c}`).join(', ')}).`,
      '',
      '| running | router p50 ms | router p99 ms | router req/s | direct p50 ms | direct p99 ms | direct req/s |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...routerByRunning.map(
        (r) =>
          `| ${r.running} | ${r.router.p50.toFixed(2)} | ${r.router.p99.toFixed(2)} | ${r.router.rps.toFixed(0)} | ${r.direct.p50.toFixed(2)} | ${r.direct.p99.toFixed(2)} | ${r.direct.rps.toFixed(0)} |`,
      ),
      '',
      '```json',
      JSON.stringify({ ...results, routerByRunning: undefined }, null, 2),
      '```',
    ].join('\n');
    writeResults('swarm', md, results);
  } finally {
    platform?.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
    // The cluster itself (services, volumes, networks) goes with scripts/ci/swarm.sh's teardown.
  }
}

await main();
