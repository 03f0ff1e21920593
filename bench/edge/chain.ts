/**
 * The production edge of issue 15 against the reference it has to keep up with: TLS on both, the
 * stand-in instance of bench/edge/upstream.ts behind each.
 *  - edge: `startNginxEdge` (deploy/edge: lua route lookup, cookie and header rules, the balancer
 *    with its fallback to the platform) with the instance's route published over the admin API;
 *  - nginx-static: plain nginx, a fixed keep-alive upstream (bench/edge/run.ts's reference).
 * Both run one worker; wrk 1 thread, 16 connections, 6 s; a tiny answer (`/health`) and 64 KiB
 * (`/big`); EDGE_ROUNDS (3) rounds, the two taking turns; medians. The target: the edge at
 * 0.8x the reference's requests/s or better on tiny answers, p99 at most 1.5x, no loss on 64 KiB.
 *
 *   npm run bench -- edge-chain    (needs nginx-light, libnginx-mod-http-lua, wrk, openssl; ~2 min)
 *
 * Results: bench/results/edge-chain-<time>.{md,json}.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, freePort } from '@matrixos/shared';
import { selfSignedCert } from '@matrixos/shared/testing';
import { createNginxEdgeRoutes } from '../../packages/platform/src/edge/createNginxEdgeRoutes.ts';
import { type NginxEdge, startNginxEdge } from '../../packages/platform/src/edge/startNginxEdge.ts';
import { requireTools } from '../lib/requireTools.ts';
import { writeResults } from '../lib/results.ts';
import { median } from '../lib/stats.ts';
import { type WrkResult, wrk } from '../lib/wrk.ts';
import { childrenOf, cpuSeconds, waitPort } from './support.ts';

const ROUNDS = Number(process.env.EDGE_ROUNDS ?? 3);
const SECONDS = 6;
const HOST = 'bench.localhost';
const SECRET = 'bench-edge-admin-secret';
const log = (...a: unknown[]) =>
  console.error(`[edge-chain ${new Date().toISOString().slice(11, 19)}]`, ...a);

requireTools([
  ['nginx', 'apt-get install -y nginx-light libnginx-mod-http-lua'],
  ['wrk', 'apt-get install -y wrk'],
  ['openssl', 'apt-get install -y openssl'],
]);

interface Target {
  name: string;
  port: number;
  pids(): number[];
}

/** Which stand-in answered `GET /health` for HOST through an edge. */
function answeredBy(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: '/health', headers: { host: HOST }, rejectUnauthorized: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.headers['x-upstream-port'] ?? res.statusCode)));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'matrixos-edge-chain-'));
  const children: ChildProcess[] = [];
  let edge: NginxEdge | undefined;
  try {
    const tls = selfSignedCert(dir);
    // The instance, and a stand-in platform: a request that reaches it is one the edge lost.
    const [instance, platform] = [await freePort(), await freePort()];
    const upstream = spawn(
      process.execPath,
      [path.join(import.meta.dirname, 'upstream.ts'), `${instance}`, `${platform}`],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(upstream);
    await new Promise<void>((resolve) => upstream.stdout!.once('data', () => resolve()));

    const edgeDir = path.join(dir, 'edge');
    edge = await startNginxEdge({
      domain: 'localhost',
      platform: { host: '127.0.0.1', port: platform },
      listen: { host: '127.0.0.1', port: await freePort() },
      tls: { cert: tls.cert, key: tls.key },
      adminPort: await freePort(),
      secret: SECRET,
      dir: edgeDir,
      workers: 1,
    });
    await createNginxEdgeRoutes({
      adminUrl: edge.adminUrl,
      secret: SECRET,
      log: createLogger('bench', 'silent'),
    }).publish('bench', { host: '127.0.0.1', port: instance });
    const edgeMaster = Number(readFileSync(path.join(edgeDir, 'nginx.pid'), 'utf8'));

    const staticPort = await freePort();
    writeFileSync(
      `${dir}/nginx-static.conf`,
      `daemon off; worker_processes 1; pid ${dir}/nginx-static.pid; error_log ${dir}/nginx-static.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  upstream a { server 127.0.0.1:${instance}; keepalive 256; }
  map $http_upgrade $conn_upgrade { default upgrade; '' ''; }
  server {
    listen 127.0.0.1:${staticPort} ssl; ssl_certificate ${tls.cert}; ssl_certificate_key ${tls.key};
    location / {
      proxy_http_version 1.1; proxy_set_header Host $host;
      proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $conn_upgrade;
      proxy_read_timeout 3600s; proxy_pass http://a;
    }
  }
}
`,
    );
    const reference = spawn('nginx', ['-c', `${dir}/nginx-static.conf`, '-p', dir], { stdio: 'ignore' });
    children.push(reference);
    await waitPort(staticPort);

    const targets: Target[] = [
      {
        name: 'edge',
        port: Number(new URL(edge.url).port),
        pids: () => [edgeMaster, ...childrenOf(edgeMaster)],
      },
      { name: 'nginx-static', port: staticPort, pids: () => [reference.pid!, ...childrenOf(reference.pid!)] },
    ];
    for (const t of targets) {
      const by = await answeredBy(t.port);
      if (by !== String(instance))
        throw new Error(`${t.name} answered from ${by}, not the instance (${instance})`);
    }
    log('up:', targets.map((t) => `${t.name}:${t.port}`).join(' '));

    type Sample = WrkResult & { cpuUsPerReq: number };
    const samples = new Map<string, Sample[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const size of ['health', 'big']) {
        // Alternate who goes first, so neither always meets the other's leftovers.
        for (const t of round % 2 ? [...targets].reverse() : targets) {
          const url = `https://127.0.0.1:${t.port}/${size}`;
          await wrk(url, HOST, 1); // warm-up: TLS sessions, upstream keep-alive
          const c0 = cpuSeconds(t.pids());
          const r = await wrk(url, HOST, SECONDS);
          const cpu = cpuSeconds(t.pids()) - c0;
          const key = `${t.name} ${size}`;
          samples.set(key, [
            ...(samples.get(key) ?? []),
            { ...r, cpuUsPerReq: (cpu / (r.rps * SECONDS)) * 1e6 },
          ]);
        }
      }
      log(`round ${round + 1} of ${ROUNDS} done`);
    }
    if ((await answeredBy(targets[0]!.port)) !== String(instance)) throw new Error('the edge lost its route');

    const table = [...samples].map(([key, xs]) => {
      const [target, size] = key.split(' ') as [string, string];
      return {
        target,
        size: size === 'big' ? '64 KiB' : 'tiny',
        rps: median(xs.map((x) => x.rps)),
        p50: median(xs.map((x) => x.p50)),
        p99: median(xs.map((x) => x.p99)),
        cpuUsPerReq: median(xs.map((x) => x.cpuUsPerReq)),
        errors: xs.reduce((n, x) => n + x.errors, 0),
        rounds: xs.map((x) => Math.round(x.rps)),
      };
    });
    const row = (target: string, size: string) => table.find((r) => r.target === target && r.size === size)!;
    const ratios = ['tiny', '64 KiB'].map((size) => {
      const e = row('edge', size);
      const ref = row('nginx-static', size);
      return { size, rps: e.rps / ref.rps, p99: e.p99 / ref.p99, cpu: e.cpuUsPerReq / ref.cpuUsPerReq };
    });
    const [tiny, big] = ratios as [(typeof ratios)[0], (typeof ratios)[0]];
    const verdict = {
      tinyRps: tiny.rps >= 0.8,
      tinyP99: tiny.p99 <= 1.5,
      // "No loss": within the spread two identical nginx runs show here (a few per cent).
      bigRps: big.rps >= 0.95,
    };

    const md = [
      `Run ${new Date().toISOString()}: TLS, one nginx worker each, wrk -t1 -c16 ${SECONDS} s, ${ROUNDS} rounds (turns alternating), medians.`,
      '',
      '| target | size | req/s | p50 ms | p99 ms | proxy CPU µs/req | wrk errors | req/s per round |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
      ...table.map(
        (r) =>
          `| ${r.target} | ${r.size} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpuUsPerReq.toFixed(0)} | ${r.errors} | ${r.rounds.join(', ')} |`,
      ),
      '',
      '| size | edge req/s × static | edge p99 × static | edge CPU/req × static |',
      '| --- | ---: | ---: | ---: |',
      ...ratios.map((r) => `| ${r.size} | ${r.rps.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpu.toFixed(2)} |`),
      '',
      `Target: tiny req/s ≥ 0.8× ${verdict.tinyRps ? 'met' : 'MISSED'}; tiny p99 ≤ 1.5× ${verdict.tinyP99 ? 'met' : 'MISSED'}; 64 KiB req/s ≥ 0.95× ${verdict.bigRps ? 'met' : 'MISSED'}.`,
    ].join('\n');
    writeResults('edge-chain', md, { throughput: table, ratios, verdict });
  } finally {
    await edge?.stop();
    for (const c of children) c.kill('SIGTERM');
    await sleep(500);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
