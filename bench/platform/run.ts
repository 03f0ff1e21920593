/**
 * Platform benchmark, one run on one machine, everything side by side:
 *  - throughput and latency (wrk) of the router vs a direct connection to the instance vs nginx
 *    proxying to the same instance, with the instance at its production CPU limit and again with
 *    the limit lifted (so that the proxies' own cost shows), plus each proxy's CPU per request;
 *  - wake from stopped and from paused, through the router (median of N);
 *  - provision to healthy (median of N);
 *  - memory of an idle instance.
 *
 *   npm run bench -- platform            (needs: a Docker engine, nginx, wrk)
 *
 * Results: printed as markdown and written to bench/results/platform-<time>.{md,json}.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, newToken } from '@matrixos/shared';
import Docker from 'dockerode';
import { httpRequest } from '../../packages/platform/test/harness.ts';
import { requireTools } from '../lib/requireTools.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WRK_SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WRK_CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 10);
const root = path.resolve(import.meta.dirname, '../..');
const docker = new Docker();

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  /** CPU microseconds the proxy process spent per request (absent for direct). */
  cpuUs?: number;
}

/** wrk's summary: requests/s and the 50th/99th latency percentiles in milliseconds. */
function wrk(url: string, headers: Record<string, string>, seconds = WRK_SECONDS): WrkResult {
  const args = ['-t1', `-c${WRK_CONNECTIONS}`, `-d${seconds}s`, '--latency'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  const out = execFileSync('wrk', [...args, url], { encoding: 'utf8' });
  const ms = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
    if (!m) throw new Error(`wrk output without ${p}%:\n${out}`);
    return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[m[2]!]!;
  };
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  if (errors) {
    throw new Error(`wrk saw errors against ${url}:\n${out}`);
  }
  const requests = Number(/(\d+) requests in/.exec(out)![1]);
  return { rps: Number(rps![1]), p50: ms('50'), p99: ms('99'), requests } as WrkResult & { requests: number };
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The nginx worker's pid (the master only forks it). */
function nginxWorker(masterPid: number): number {
  return Number(
    execFileSync('pgrep', ['-P', String(masterPid)], { encoding: 'utf8' })
      .trim()
      .split('\n')[0],
  );
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  requireTools([
    ['wrk', 'apt-get install -y wrk'],
    ['nginx', 'apt-get install -y nginx'],
  ]);
  await docker.ping().catch(() => {
    console.error('bench: no Docker engine answers (start dockerd)');
    process.exit(1);
  });
  execFileSync('bash', ['scripts/build-image.sh', '--if-stale'], { cwd: root, stdio: 'inherit' });

  const dataDir = mkdtempSync(path.join(tmpdir(), 'matrixos-bench-'));
  const platformId = `bench${randomBytes(3).toString('hex')}`;
  const adminToken = newToken('mxa');
  const children: ChildProcess[] = [];
  const cleanup = async () => {
    for (const c of children) c.kill('SIGTERM');
    const ours = await docker.listContainers({
      all: true,
      filters: { label: [`dev.matrixos.platform=${platformId}`] },
    });
    for (const c of ours)
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    const vols = await docker.listVolumes({ filters: { label: [`dev.matrixos.platform=${platformId}`] } });
    for (const v of vols.Volumes ?? [])
      await docker
        .getVolume(v.Name)
        .remove()
        .catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

  try {
    // The platform as in production: its own process, Docker runtime, no idle stops during the run.
    const port = await freePort();
    const platform = spawn(process.execPath, ['packages/platform/src/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        PLATFORM_ID: platformId,
        PLATFORM_PORT: String(port),
        PLATFORM_ADMIN_TOKEN: adminToken,
        RUNTIME: 'docker',
        PROXY_ADMIN_URL: 'none',
        IDLE_TIMEOUT: '0',
        SWEEP_INTERVAL: '1h',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(platform);
    for (let i = 0; ; i++) {
      if ((await httpRequest(port, { path: '/health' }).catch(() => null))?.status === 200) break;
      if (i > 200) throw new Error('platform did not come up');
      await sleep(50);
    }
    const admin = (method: string, p: string, body?: object) =>
      httpRequest(port, { method, path: p, body, headers: { authorization: `Bearer ${adminToken}` } });

    // Provision to healthy: the admin API answers 201 once the instance's /health says ok.
    const provisionMs: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const handle = `prov${i}`;
      provisionMs.push(
        await timed(async () => {
          const r = await admin('POST', '/containers/provision', { handle });
          if (r.status !== 201) throw new Error(`provision: ${r.status} ${r.text}`);
        }),
      );
      await admin('DELETE', `/containers/${handle}?deleteData=true`);
    }

    const created = await admin('POST', '/containers/provision', { handle: 'bench' });
    const token = created.json<{ token: string }>().token;
    const host = `bench.localhost:${port}`;
    const auth = { authorization: `Bearer ${token}` };
    const file = randomBytes(64 * 1024);
    await httpRequest(port, { method: 'PUT', path: '/files/bench.bin', host, headers: auth, body: file });
    const engineId = (await admin('GET', '/containers/bench')).json<{ instance: { engineId: string } }>()
      .instance.engineId;
    const ip = Object.values((await docker.getContainer(engineId).inspect()).NetworkSettings.Networks)[0]!
      .IPAddress;

    // nginx in front of the same instance: one worker (the router is one process too),
    // upstream keep-alive as a tuned reverse proxy would have it.
    const nginxPort = await freePort();
    const nginxDir = path.join(dataDir, 'nginx');
    mkdirSync(nginxDir, { recursive: true });
    writeFileSync(
      path.join(nginxDir, 'nginx.conf'),
      `worker_processes 1; daemon off; pid ${nginxDir}/nginx.pid; error_log ${nginxDir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${nginxDir}/body; proxy_temp_path ${nginxDir}/proxy;
  fastcgi_temp_path ${nginxDir}/fcgi; uwsgi_temp_path ${nginxDir}/uwsgi; scgi_temp_path ${nginxDir}/scgi;
  upstream instance { server ${ip}:4000; keepalive 64; }
  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      proxy_pass http://instance;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`,
    );
    const nginx = spawn('nginx', ['-c', path.join(nginxDir, 'nginx.conf'), '-p', nginxDir], {
      stdio: 'inherit',
    });
    children.push(nginx);
    await sleep(300);

    const nginxPid = nginxWorker(nginx.pid!);
    const targets = {
      direct: { url: `http://${ip}:4000`, headers: {} as Record<string, string>, pid: 0 },
      // `Host` capitalised: wrk replaces its own Host header only when the name matches exactly.
      router: {
        url: `http://127.0.0.1:${port}`,
        headers: { Host: host } as Record<string, string>,
        pid: platform.pid!,
      },
      nginx: {
        url: `http://127.0.0.1:${nginxPort}`,
        headers: { Host: host } as Record<string, string>,
        pid: nginxPid,
      },
    };
    const payloads = {
      'GET /health (≈120 B)': { path: '/health', headers: {} },
      'GET /files/bench.bin (64 KiB)': { path: '/files/bench.bin', headers: auth },
    };
    // Production: the instance's 0.5 CPU is the bottleneck, as users meet it. Lifted: the
    // instance may use both cores, so the proxies' own cost decides.
    const settings = {
      'instance at its limit (0.5 CPU)': 500_000_000,
      'instance limit lifted (2 CPUs)': 2_000_000_000,
    };
    const container = docker.getContainer(engineId);
    const results: Record<string, Record<string, Record<string, WrkResult[]>>> = {};
    for (const [setting, nanoCpus] of Object.entries(settings)) {
      await container.update({ NanoCpus: nanoCpus });
      results[setting] = {};
      for (const [pname, p] of Object.entries(payloads)) {
        const byTarget: Record<string, WrkResult[]> = { direct: [], router: [], nginx: [] };
        results[setting]![pname] = byTarget;
        for (const t of Object.values(targets)) wrk(t.url + p.path, { ...t.headers, ...p.headers }, 2); // warm-up
        for (let round = 0; round < ROUNDS; round++) {
          for (const [tname, t] of Object.entries(targets)) {
            const cpu0 = t.pid ? cpuSeconds(t.pid) : 0;
            const r = wrk(t.url + p.path, { ...t.headers, ...p.headers }) as WrkResult & { requests: number };
            if (t.pid) r.cpuUs = ((cpuSeconds(t.pid) - cpu0) / r.requests) * 1e6;
            byTarget[tname]!.push(r);
          }
        }
      }
    }
    await container.update({ NanoCpus: 500_000_000 });

    // Wakes, through the router, as a client sees them: from the stop/pause to the first answer.
    const wake = async (sleepVia: 'stop' | 'pause') => {
      const ms: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const r = await admin('POST', `/containers/bench/${sleepVia}`);
        if (r.status !== 200) throw new Error(`${sleepVia}: ${r.status} ${r.text}`);
        ms.push(
          await timed(async () => {
            const reply = await httpRequest(port, { path: '/health', host, headers: auth }); // anonymous callers never wake it
            if (reply.status !== 200) throw new Error(`wake: ${reply.status} ${reply.text}`);
          }),
        );
      }
      return ms;
    };
    const wakeStopped = await wake('stop');
    const wakePaused = await wake('pause');

    // Idle memory: the engine's figure (page cache excluded) after a quiet spell.
    await sleep(10_000);
    const memory: number[] = [];
    for (let i = 0; i < 5; i++) {
      const s = (await admin('GET', '/containers/bench')).json<{
        engine: { stats: { memoryBytes: number } };
      }>();
      memory.push(s.engine.stats.memoryBytes / 2 ** 20);
    }

    const md: string[] = [];
    const cpu = execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], {
      encoding: 'utf8',
    }).trim();
    md.push(
      `Run ${new Date().toISOString()} on ${cpu} (${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores), Docker ${(await docker.version()).Version}, nginx 1 worker.`,
    );
    md.push(
      `wrk -t1 -c${WRK_CONNECTIONS} -d${WRK_SECONDS}s, median of ${ROUNDS} rounds (targets interleaved); wakes and provisions: ${SAMPLES} samples each.`,
      '',
    );
    const summary: Record<string, Record<string, unknown>> = {};
    for (const [setting, byPayload] of Object.entries(results)) {
      md.push(
        `**${setting}**`,
        '',
        '| request | target | requests/s | p50 ms | p99 ms | proxy CPU µs/request |',
        '| --- | --- | ---: | ---: | ---: | ---: |',
      );
      summary[setting] = {};
      for (const [pname, byTarget] of Object.entries(byPayload)) {
        const row = (t: string) => {
          const rs = byTarget[t]!;
          return {
            rps: median(rs.map((r) => r.rps)),
            p50: median(rs.map((r) => r.p50)),
            p99: median(rs.map((r) => r.p99)),
            cpuUs: rs[0]!.cpuUs === undefined ? undefined : median(rs.map((r) => r.cpuUs!)),
          };
        };
        const r = { direct: row('direct'), router: row('router'), nginx: row('nginx') };
        for (const [t, v] of Object.entries(r)) {
          md.push(
            `| ${pname} | ${t} | ${v.rps.toFixed(0)} | ${v.p50.toFixed(2)} | ${v.p99.toFixed(2)} | ${v.cpuUs === undefined ? '' : v.cpuUs.toFixed(0)} |`,
          );
        }
        summary[setting]![pname] = {
          ...r,
          routerVsNginxThroughput: r.router.rps / r.nginx.rps,
          routerVsNginxP99: r.router.p99 / r.nginx.p99,
        };
      }
      md.push('');
    }
    md.push('| router ÷ nginx | request | throughput | p99 |', '| --- | --- | ---: | ---: |');
    for (const [setting, byPayload] of Object.entries(summary)) {
      for (const [pname, v] of Object.entries(byPayload) as [
        string,
        { routerVsNginxThroughput: number; routerVsNginxP99: number },
      ][]) {
        md.push(
          `| ${setting} | ${pname} | ${v.routerVsNginxThroughput.toFixed(2)} × | ${v.routerVsNginxP99.toFixed(2)} × |`,
        );
      }
    }
    const ms = (xs: number[]) =>
      `${median(xs).toFixed(0)} ms (p90 ${pct(xs, 90).toFixed(0)}, min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
    md.push('', '| measure | median |', '| --- | --- |');
    md.push(`| wake from stopped → first answer | ${ms(wakeStopped)} |`);
    md.push(`| wake from paused → first answer | ${ms(wakePaused)} |`);
    md.push(`| provision → healthy | ${ms(provisionMs)} |`);
    md.push(`| idle instance memory (engine, page cache excluded) | ${median(memory).toFixed(1)} MiB |`);
    const text = md.join('\n');
    console.log(`\n${text}\n`);
    const outDir = path.join(root, 'bench/results');
    mkdirSync(outDir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    writeFileSync(path.join(outDir, `platform-${stamp}.md`), `${text}\n`);
    writeFileSync(
      path.join(outDir, `platform-${stamp}.json`),
      JSON.stringify(
        { summary, raw: results, wakeStopped, wakePaused, provisionMs, memoryMiB: memory },
        null,
        2,
      ),
    );
  } finally {
    await cleanup();
  }
}

await main();
