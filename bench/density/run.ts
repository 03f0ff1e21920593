/**
 * Density on one host (issue 11 §3), docker driver, the platform as its own process (`main.ts`):
 *  - router p50/p99 to one hot instance as the number of running instances grows (1, 10, 100),
 *    side by side with a direct connection to that instance in the same run;
 *  - provision time, list (`GET /containers`, one page) and admin overview times, reconcile (a
 *    sweep with nothing idle) and platform RSS/heap as the number of provisioned instances grows;
 *  - the idle CPU of 100 running but unused instances (their cgroups plus dockerd and
 *    containerd), next to 20 containers of the same image run with its HEALTHCHECK (the reference:
 *    how they ran before);
 *  - 1,000 WebSockets through the router for 60 s across 20 instances;
 *  - a sweep that freezes the 99 idle running ones (`PAUSE_AFTER`, the first sleep tier) while wrk
 *    keeps the hot one busy, and a wake from frozen;
 *  - after a platform restart (its startup reconcile timed): a sweep that stops the 99 idle running
 *    ones while wrk keeps the hot one busy (its throughput vs just before) and a sleeper is woken
 *    the moment the sweep begins.
 *
 *   npm run bench -- density       (needs: a Docker engine, wrk; ~25 min at the default sizes)
 *
 * Sizes: DENSITY_RUNNING (100), DENSITY_TOTAL (1000), DENSITY_WS (1000), DENSITY_WS_SECONDS (60),
 * DENSITY_PARALLEL (6 provisions at once). Everything it makes carries its own PLATFORM_ID label
 * and is removed at the end (also on Ctrl-C). Results: bench/results/density-<time>.{md,json}.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, freePort, loadSecretKey, newToken } from '@matrixos/shared';
import Docker from 'dockerode';
import { loadConfig } from '../../packages/platform/src/config.ts';
import { openDb } from '../../packages/platform/src/db/openDb.ts';
import { createPlatform } from '../../packages/platform/src/platform.ts';
import { createDockerDriver } from '../../packages/platform/src/runtime/docker/dockerDriver.ts';
import { httpRequest } from '../../packages/platform/test/harness.ts';
import { requireTools } from '../lib/requireTools.ts';
import { writeResults } from '../lib/results.ts';
import { median, pct, pool, procStatus } from '../lib/stats.ts';
import { holdWebSockets } from '../lib/websockets.ts';
import { type WrkResult, wrk } from '../lib/wrk.ts';

const RUNNING = Number(process.env.DENSITY_RUNNING ?? 100);
const TOTAL = Number(process.env.DENSITY_TOTAL ?? 1000);
const WS_COUNT = Number(process.env.DENSITY_WS ?? 1000);
const WS_SECONDS = Number(process.env.DENSITY_WS_SECONDS ?? 60);
const PARALLEL = Number(process.env.DENSITY_PARALLEL ?? 6);
const REFERENCE = 20;
const root = path.resolve(import.meta.dirname, '../..');
const docker = new Docker();

const now = () => performance.now();
const log = (...a: unknown[]) => console.error(`[density ${new Date().toISOString().slice(11, 19)}]`, ...a);

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The machine's main engine and its containerd (not other engines' daemons on this host). */
function enginePids(): number[] {
  const pids: number[] = [];
  for (const name of ['dockerd', 'containerd']) {
    for (const pid of execFileSync('sh', ['-c', `pgrep -x ${name} || true`], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number)) {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('--data-root') && !cmd.includes('/tmp/')) pids.push(pid);
    }
  }
  return pids;
}

/** Container CPU seconds from its cgroup (cgroup v1, cgroupfs driver: /sys/fs/cgroup/cpuacct/docker/<id>). */
function containerCpu(id: string): number {
  for (const dir of [
    `/sys/fs/cgroup/cpuacct/docker/${id}`,
    `/sys/fs/cgroup/system.slice/docker-${id}.scope`,
  ]) {
    try {
      return Number(readFileSync(`${dir}/cpuacct.usage`, 'utf8')) / 1e9;
    } catch {
      try {
        const stat = readFileSync(`${dir}/cpu.stat`, 'utf8');
        return Number(/usage_usec (\d+)/.exec(stat)?.[1] ?? 0) / 1e6;
      } catch {}
    }
  }
  throw new Error(`no cgroup CPU figure for container ${id}`);
}

/** Cores used over `seconds` by these containers, and by the engine's daemons (two figures). */
async function idleCores(ids: string[], seconds: number): Promise<{ containers: number; engine: number }> {
  const pids = enginePids();
  const c0 = ids.reduce((s, id) => s + containerCpu(id), 0);
  const e0 = pids.reduce((s, p) => s + cpuSeconds(p), 0);
  const t0 = now();
  await sleep(seconds * 1000);
  const wall = (now() - t0) / 1000;
  const c1 = ids.reduce((s, id) => s + containerCpu(id), 0);
  const e1 = pids.reduce((s, p) => s + cpuSeconds(p), 0);
  return { containers: (c1 - c0) / wall, engine: (e1 - e0) / wall };
}

async function main(): Promise<void> {
  requireTools([['wrk', 'apt-get install -y wrk']]);
  await docker.ping().catch(() => {
    console.error('bench: no Docker engine answers (start dockerd)');
    process.exit(1);
  });
  const image = process.env.INSTANCE_IMAGE ?? 'matrixos/instance:latest';
  execFileSync('bash', ['scripts/build-image.sh', '--if-stale'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, INSTANCE_IMAGE: image },
  });

  const dataDir = mkdtempSync(path.join(tmpdir(), 'matrixos-density-'));
  const platformId = `dens${randomBytes(3).toString('hex')}`;
  const network = `${platformId}-net`;
  const adminToken = newToken('mxa');
  const children: ChildProcess[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = () => (cleaning ??= removeAll());
  const removeAll = async () => {
    for (const c of children) c.kill('SIGTERM');
    await sleep(1000);
    const label = [`dev.matrixos.platform=${platformId}`];
    const ours = await docker.listContainers({ all: true, filters: { label } });
    await pool(ours, 8, (c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    );
    const vols = await docker.listVolumes({ filters: { label } });
    await pool(vols.Volumes ?? [], 8, (v) =>
      docker
        .getVolume(v.Name)
        .remove()
        .catch(() => undefined),
    );
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    log(`cleaned up ${ours.length} containers, ${(vols.Volumes ?? []).length} volumes`);
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

  const port = await freePort();
  const env = (idle: string, pauseAfter = '0') => ({
    ...process.env,
    DATA_DIR: dataDir,
    PLATFORM_ID: platformId,
    PLATFORM_PORT: String(port),
    PLATFORM_ADMIN_TOKEN: adminToken,
    DOCKER_NETWORK: network,
    INSTANCE_IMAGE: image,
    // No per-user loop-mounted filesystem: a thousand loop devices on a shared machine would
    // reach the other users of its kernel (docs/benchmarks.md says what that leaves out).
    INSTANCE_DISK: '0',
    RUNTIME: 'docker',
    PROXY_ADMIN_URL: 'none',
    IDLE_TIMEOUT: idle,
    PAUSE_AFTER: pauseAfter,
    SWEEP_INTERVAL: '24h',
    WAKE_TIMEOUT: '60s',
    LOG_LEVEL: 'warn',
  });
  let platform!: ChildProcess;
  const startPlatform = async (idle: string, pauseAfter?: string): Promise<number> => {
    const t0 = now();
    platform = spawn(process.execPath, ['--max-semi-space-size=8', 'packages/platform/src/main.ts'], {
      cwd: root,
      env: env(idle, pauseAfter),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(platform);
    for (let i = 0; ; i++) {
      if ((await httpRequest(port, { path: '/health' }).catch(() => null))?.status === 200) break;
      if (i > 1200) throw new Error('platform did not come up');
      await sleep(50);
    }
    return now() - t0;
  };
  const admin = (method: string, p: string) =>
    httpRequest(port, { method, path: p, headers: { authorization: `Bearer ${adminToken}` } });
  const timedAdmin = async (method: string, p: string) => {
    const t0 = now();
    const r = await admin(method, p);
    if (r.status !== 200) throw new Error(`${method} ${p}: ${r.status} ${r.text}`);
    return { ms: now() - t0, body: r };
  };
  const metric = async (name: string) => {
    const text = (await admin('GET', '/metrics')).text;
    return Number(new RegExp(`^${name} ([\\d.e+]+)$`, 'm').exec(text)?.[1] ?? Number.NaN) / 2 ** 20;
  };
  const memory = async () => ({
    rssMiB: procStatus(platform.pid!).rssMiB,
    heapUsedMiB: await metric('nodejs_heap_size_used_bytes'),
  });

  /**
   * Sleepers made by the platform's own provision code in this process while the platform
   * process is down, with one difference: the engine's `start` is skipped (a stand-in answers
   * the health check), then the instance is stopped. So each is what a provisioned-then-slept one
   * is (row, sealed secrets, volume, created container) without booting 900 gateways on a
   * shared 2-core machine (about 45 s each under load here).
   */
  const seed = async (handles: string[]) => {
    const stand = http.createServer((_req, res) => res.end('{"status":"ok"}'));
    await new Promise<void>((r) => stand.listen(0, '127.0.0.1', r));
    const standPort = (stand.address() as { port: number }).port;
    const config = loadConfig(env('24h') as Record<string, string>);
    const quiet = createLogger('density-seed', 'warn');
    const driver = createDockerDriver({ platformId, network, log: quiet });
    await driver.init();
    const runtime = {
      ...driver,
      start: async (id: string) => {
        const rt = await driver.inspect(id);
        return { ...rt!, state: 'running' as const, endpoint: { host: '127.0.0.1', port: standPort } };
      },
    };
    const { key } = loadSecretKey(undefined, path.join(dataDir, 'platform.key'));
    const db = openDb(path.join(dataDir, 'platform.db'));
    const p = createPlatform({ config, db, runtime, secretKey: key, adminToken, log: quiet });
    await pool(handles, 8, async (h) => {
      const made = await p.orchestrator.provision(h);
      if (!made.token) throw new Error(`seed ${h}: not created`);
      tokens.set(h, made.token);
      await p.orchestrator.stop(h);
    });
    db.$client.close();
    stand.close();
  };

  const tokens = new Map<string, string>();
  const provisionMs: { n: number; ms: number }[] = [];
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
    provisionMs.push({ n: tokens.size, ms: now() - t0 });
  };

  const hostOf = (h: string) => `${h}.localhost:${port}`;
  const engineIdOf = async (h: string) =>
    (await admin('GET', `/containers/${h}`)).json<{ instance: { engineId: string } }>().instance.engineId;
  const ipOf = async (id: string) =>
    Object.values((await docker.getContainer(id).inspect()).NetworkSettings.Networks)[0]!.IPAddress;

  const results: Record<string, unknown> = {};
  const routerByRunning: { running: number; router: WrkResult; direct: WrkResult }[] = [];
  const byTotal: {
    total: number;
    running: number;
    listMs: number;
    listAllPagesMs: number;
    overviewColdMs: number;
    overviewWarmMs: number;
    reconcileMs: number;
    reconcileAgainMs: number;
    rssMiB: number;
    heapUsedMiB: number;
  }[] = [];

  try {
    await startPlatform('24h');
    const running = ['hot', ...Array.from({ length: RUNNING - 1 }, (_, i) => `run${i}`)];
    const sleepers = Array.from({ length: Math.max(0, TOTAL - RUNNING) }, (_, i) => `zz${i}`);

    const hotRouter = async (n: number) => {
      const hotIp = await ipOf(await engineIdOf('hot'));
      await wrk(`http://127.0.0.1:${port}/health`, hostOf('hot'), 2, tokens.get('hot')); // warm-up
      const router = await wrk(`http://127.0.0.1:${port}/health`, hostOf('hot'), 8, tokens.get('hot'));
      const direct = await wrk(`http://${hotIp}:4000/health`, null, 8);
      routerByRunning.push({ running: n, router, direct });
      log(`router at ${n} running: p50 ${router.p50} p99 ${router.p99} (direct p99 ${direct.p99})`);
    };
    const measureAt = async (runningNow: number) => {
      const list = await timedAdmin('GET', '/containers?limit=100');
      let cursor: string | null = null;
      const t0 = now();
      do {
        const page: { json: <T>() => T } = (
          await timedAdmin('GET', `/containers?limit=500${cursor ? `&cursor=${cursor}` : ''}`)
        ).body;
        cursor = page.json<{ nextCursor: string | null }>().nextCursor;
      } while (cursor);
      const listAllPagesMs = now() - t0;
      await sleep(5500); // past the overview's 5 s cache: a cold pass of the engine
      const cold = await timedAdmin('GET', '/admin/overview');
      const warm = await timedAdmin('GET', '/admin/overview');
      const reconcile = await timedAdmin('POST', '/admin/sweep'); // nothing idle (24 h): the reconcile
      // Again: now from the engine view the event stream keeps (the first one primed it).
      const again = await timedAdmin('POST', '/admin/sweep');
      const row = {
        total: tokens.size,
        running: runningNow,
        listMs: list.ms,
        listAllPagesMs,
        overviewColdMs: cold.ms,
        overviewWarmMs: warm.ms,
        reconcileMs: reconcile.ms,
        reconcileAgainMs: again.ms,
        ...(await memory()),
      };
      byTotal.push(row);
      log('at', row);
    };

    // One hot instance, alone.
    await provision('hot');
    await hotRouter(1);
    await measureAt(1);

    // Sleepers, made with the platform process down (see `seed`), then the platform started
    // over them: its startup (one reconcile of everything) is timed at each size.
    const checkpoints = [150, 400, TOTAL - RUNNING].filter(
      (c, i, a) => c <= sleepers.length && a.indexOf(c) === i,
    );
    const startups: { total: number; ms: number }[] = [];
    let made = 0;
    for (const upTo of checkpoints) {
      platform.kill('SIGTERM');
      await new Promise((r) => platform.once('exit', r));
      const t0 = now();
      await seed(sleepers.slice(made, upTo));
      made = upTo;
      log(`${tokens.size} provisioned (${made} sleeping) in ${((now() - t0) / 1000).toFixed(0)} s`);
      startups.push({ total: tokens.size, ms: await startPlatform('24h') });
      await measureAt(1);
    }
    results.startups = startups;

    // The running ones, with the hot one measured at 10 and at RUNNING.
    await pool(running.slice(1, 10), PARALLEL, provision);
    await hotRouter(10);
    await pool(running.slice(10), PARALLEL, provision);
    await hotRouter(RUNNING);
    await sleep(20_000); // let the new ones settle: startup work is not idle cost
    await measureAt(RUNNING);

    if (RUNNING >= 20) {
      // Idle CPU: the RUNNING-1 unused ones now, then REFERENCE containers of the same image with
      // its HEALTHCHECK (as the platform ran them before), on the same engine.
      const idleIds = await Promise.all(running.slice(1).map(engineIdOf));
      const idle = await idleCores(idleIds, 30);
      const template = await docker.getContainer(idleIds[0]!).inspect();
      const refs: string[] = [];
      for (let i = 0; i < REFERENCE; i++) {
        const c = await docker.createContainer({
          name: `${platformId}-ref${i}`,
          Image: template.Config.Image,
          Env: template.Config.Env,
          User: '1000:1000',
          Labels: { 'dev.matrixos.platform': platformId, 'dev.matrixos.bench': 'reference' },
          HostConfig: { NetworkMode: network, Memory: 256 * 2 ** 20, NanoCpus: 500_000_000, Init: true },
        });
        await c.start();
        refs.push(c.id);
      }
      await sleep(25_000); // past the check's 20 s start period
      const refIdle = await idleCores(refs, 30);
      await pool(refs, 8, (id) =>
        docker
          .getContainer(id)
          .remove({ force: true, v: true })
          .then(() => undefined),
      );
      results.idleCpu = {
        instances: idleIds.length,
        containersCores: idle.containers,
        engineCores: idle.engine,
        reference: { instances: REFERENCE, containersCores: refIdle.containers, engineCores: refIdle.engine },
      };
      log('idle cpu', results.idleCpu);

      // 1,000 WebSockets across 20 instances, held for WS_SECONDS.
      {
        const targets = running.slice(0, 20);
        const memBefore = await memory();
        let memOpen = memBefore;
        const held = await holdWebSockets({
          url: `ws://127.0.0.1:${port}/ws`,
          count: WS_COUNT,
          seconds: WS_SECONDS,
          headersOf: (i) => {
            const h = targets[i % targets.length]!;
            return { host: hostOf(h), authorization: `Bearer ${tokens.get(h)}` };
          },
          whileOpen: async () => {
            memOpen = await memory();
          },
        });
        results.websockets = {
          ...held,
          instances: targets.length,
          platformRssMiB: { before: memBefore.rssMiB, open: memOpen.rssMiB },
        };
        log('websockets', results.websockets);
        await sleep(2000);
      }
    }

    // A load burst on the hot instance, then RSS vs heap after a quiet spell.
    {
      const before = await memory();
      await wrk(`http://127.0.0.1:${port}/health`, hostOf('hot'), 20, tokens.get('hot'));
      const after = await memory();
      await sleep(30_000);
      const settled = await memory();
      results.burst = { before, after, settled };
      log('burst', results.burst);
    }

    // The first sleep tier: restart with a 30 s freeze limit (and no stop), then a sweep that
    // freezes the idle running ones while wrk keeps the hot one busy and a frozen one is woken.
    platform.kill('SIGTERM');
    await new Promise((r) => platform.once('exit', r));
    await sleep(31_000); // every instance is idle past the limit now, but the hot one gets traffic
    await startPlatform('24h', '30s');
    {
      const baseline = await wrk(`http://127.0.0.1:${port}/health`, hostOf('hot'), 8, tokens.get('hot'));
      const during = wrk(`http://127.0.0.1:${port}/health`, hostOf('hot'), 6, tokens.get('hot'));
      await sleep(1000);
      const t0 = now();
      const r = await admin('POST', '/admin/sweep');
      const sweepMs = now() - t0;
      const busy = await during;
      const report = r.json<{ paused: string[] }>();
      // A frozen one woken on a quiet platform afterwards.
      const frozen = running.find((h) => h !== 'hot' && report.paused.includes(h));
      const w0 = now();
      const woke = frozen
        ? await httpRequest(port, {
            path: '/health',
            host: hostOf(frozen),
            headers: { authorization: `Bearer ${tokens.get(frozen)}` },
          })
        : undefined;
      results.freezeSweep = {
        paused: report.paused.length,
        pausedHot: report.paused.includes('hot'),
        sweepMs,
        wakeFromFrozenMs: frozen ? now() - w0 : undefined,
        wakeStatus: woke?.status,
        busyTenantRps: { before: baseline.rps, during: busy.rps },
        busyTenantErrors: { before: baseline.errors, during: busy.errors },
        busyTenantP99: { before: baseline.p99, during: busy.p99 },
      };
      log('freeze sweep', results.freezeSweep);
    }

    // Restart the platform with a 30 s idle limit: startup (its reconcile at TOTAL), then a sweep
    // that stops the idle ones (frozen by now: the second tier).
    platform.kill('SIGTERM');
    await new Promise((r) => platform.once('exit', r));
    await sleep(31_000);
    const startupMs = await startPlatform('30s');
    log(`platform restart with ${TOTAL} instances: ${startupMs.toFixed(0)} ms`);
    {
      const baseline = await wrk(`http://127.0.0.1:${port}/health`, hostOf('hot'), 8, tokens.get('hot'));
      const during = wrk(`http://127.0.0.1:${port}/health`, hostOf('hot'), 10, tokens.get('hot'));
      await sleep(1000); // the hot one is seen active before the sweep looks
      const t0 = now();
      const sweep = admin('POST', '/admin/sweep').then((r) => ({ r, ms: now() - t0 }));
      // A sleeper woken as the sweep begins: the sweep must not hold it up.
      await sleep(100);
      const w0 = now();
      const woke = await httpRequest(port, {
        path: '/health',
        host: hostOf('zz0'),
        headers: { authorization: `Bearer ${tokens.get('zz0')}` },
      });
      const wakeMs = now() - w0;
      const { r, ms: sweepMs } = await sweep;
      const busy = await during;
      const report = r.json<{ stopped: string[] }>();
      results.sweep = {
        stopped: report.stopped.length,
        stoppedHot: report.stopped.includes('hot'),
        sweepMs,
        wakeDuringSweepMs: wakeMs,
        wakeStatus: woke.status,
        busyTenantRps: { before: baseline.rps, during: busy.rps },
        busyTenantErrors: { before: baseline.errors, during: busy.errors },
        busyTenantP99: { before: baseline.p99, during: busy.p99 },
      };
      results.restartMs = startupMs;
      log('sweep', results.sweep);
      // A wake from stopped, on a quiet platform.
      const wakes: number[] = [];
      for (const h of running.slice(1, 6)) {
        const t1 = now();
        const w = await httpRequest(port, {
          path: '/health',
          host: hostOf(h),
          headers: { authorization: `Bearer ${tokens.get(h)}` },
        });
        if (w.status !== 200) throw new Error(`wake ${h}: ${w.status}`);
        wakes.push(now() - t1);
      }
      results.wakeMs = { median: median(wakes), samples: wakes };
      results.platformAfterSweep = await memory();
    }

    results.provisionMs = {
      // Real provisions (to healthy) only: the first (alone), then the running ones at ~TOTAL.
      first: provisionMs[0]?.ms,
      runningOnesMedian: median(provisionMs.slice(1).map((p) => p.ms)),
      runningOnesP90: pct(
        provisionMs.slice(1).map((p) => p.ms),
        90,
      ),
      provisionedWhileMeasured: provisionMs.slice(1).map((p) => p.n)[0],
    };
    results.routerByRunning = routerByRunning;
    results.byTotal = byTotal;

    const md: string[] = [];
    const cpu = execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], {
      encoding: 'utf8',
    }).trim();
    md.push(
      `Run ${new Date().toISOString()} on ${cpu} (${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores), Docker ${(await docker.version()).Version}; ${RUNNING} running, ${TOTAL} provisioned.`,
      '',
      '| running | router p50 ms | router p99 ms | router req/s | direct p50 ms | direct p99 ms | direct req/s | wrk errors (router/direct) |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...routerByRunning.map(
        (r) =>
          `| ${r.running} | ${r.router.p50.toFixed(2)} | ${r.router.p99.toFixed(2)} | ${r.router.rps.toFixed(0)} | ${r.direct.p50.toFixed(2)} | ${r.direct.p99.toFixed(2)} | ${r.direct.rps.toFixed(0)} | ${r.router.errors}/${r.direct.errors} |`,
      ),
      '',
      '| provisioned | running | GET /containers (100) ms | all pages (500 each) ms | overview cold ms | overview warm ms | reconcile ms (first, again) | platform RSS MiB | heap used MiB |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...byTotal.map(
        (r) =>
          `| ${r.total} | ${r.running} | ${r.listMs.toFixed(1)} | ${r.listAllPagesMs.toFixed(1)} | ${r.overviewColdMs.toFixed(0)} | ${r.overviewWarmMs.toFixed(1)} | ${r.reconcileMs.toFixed(0)}, ${r.reconcileAgainMs.toFixed(0)} | ${r.rssMiB.toFixed(0)} | ${r.heapUsedMiB.toFixed(0)} |`,
      ),
      '',
      '```json',
      JSON.stringify(
        {
          idleCpu: results.idleCpu,
          websockets: results.websockets,
          burst: results.burst,
          restartMs: results.restartMs,
          startups: results.startups,
          freezeSweep: results.freezeSweep,
          sweep: results.sweep,
          wakeMs: results.wakeMs,
          provisionMs: results.provisionMs,
          platformAfterSweep: results.platformAfterSweep,
        },
        null,
        2,
      ),
      '```',
    );
    const text = md.join('\n');
    writeResults('density', text, results);
  } finally {
    await cleanup();
  }
}

await main();
