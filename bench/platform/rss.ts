/**
 * Issue 11 §3: what the platform's resident memory holds after load bursts, heap vs the rest, and
 * what bounds it. The platform as its own process (`main.ts`, process runtime, one real gateway);
 * per variant: RSS and V8's figures at rest, right after two bursts through the router (wrk, 64
 * connections: `/health`, then a 64 KiB file), and 20 s later. Variants are environments the
 * operator sets (glibc's arena count, V8's young generation), side by side in one run.
 *
 *   bash scripts/node24.sh node bench/platform/rss.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { newToken } from '@matrixos/shared';
import { httpRequest, spawnPlatform } from '../../packages/platform/test/harness.ts';

const MiB = 2 ** 20;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);

/** glibc's thresholds fixed, so freed big buffers go back to the kernel instead of staying in the heap. */
const GLIBC = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '131072' };
const all: Record<string, Record<string, string>> = {
  default: {},
  'MALLOC_ARENA_MAX=2': { MALLOC_ARENA_MAX: '2' },
  '--max-semi-space-size=2': { NODE_OPTIONS: '--max-semi-space-size=2' },
  '--max-semi-space-size=8': { NODE_OPTIONS: '--max-semi-space-size=8' },
  'glibc thresholds': GLIBC,
  'glibc thresholds + --max-semi-space-size=2': { ...GLIBC, NODE_OPTIONS: '--max-semi-space-size=2' },
};
/** RSS_VARIANTS=name,name runs only those (names as above). */
const only = process.env.RSS_VARIANTS?.split(',');
const variants = Object.fromEntries(Object.entries(all).filter(([name]) => !only || only.includes(name)));

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

/** Requests per second: a setting that saves memory by collecting more often costs throughput. */
function wrk(url: string, headers: Record<string, string>): number {
  const args = ['-t1', '-c64', `-d${SECONDS}s`, url];
  for (const [k, v] of Object.entries(headers)) args.unshift('-H', `${k}: ${v}`);
  const out = execFileSync('wrk', args, { encoding: 'utf8' });
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
}

const rows: string[] = [];
for (const [name, env] of Object.entries(variants)) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'matrixos-bench-rss-'));
  const adminToken = newToken('mxa');
  const { port, child } = await spawnPlatform({
    DATA_DIR: dataDir,
    RUNTIME: 'process',
    PLATFORM_ID: `r${Date.now().toString(36)}`,
    PLATFORM_ADMIN_TOKEN: adminToken,
    ...env,
  });
  try {
    const pid = child.pid!;
    const admin = (p: string) =>
      httpRequest(port, {
        path: p,
        host: `localhost:${port}`,
        headers: { authorization: `Bearer ${adminToken}` },
      });
    const v8 = async () => {
      // Node's global agent keeps sockets alive: one the router has just closed fails once.
      const text = (await admin('/metrics').catch(() => admin('/metrics'))).text;
      const m = (k: string) => Number(new RegExp(`^${k} ([\\d.e+]+)$`, 'm').exec(text)?.[1] ?? 0) / MiB;
      return {
        heapUsed: m('nodejs_heap_size_used_bytes'),
        heapTotal: m('nodejs_heap_size_total_bytes'),
        external: m('nodejs_external_memory_bytes'),
      };
    };
    const p = await httpRequest(port, {
      method: 'POST',
      path: '/containers/provision',
      body: { handle: 'rss' },
      headers: { authorization: `Bearer ${adminToken}` },
    });
    if (p.status !== 201) throw new Error(`provision: ${p.status} ${p.text}`);
    const token = p.json<{ token: string }>().token;
    console.error(`[rss] ${name}: provisioned`);
    const host = `rss.localhost:${port}`;
    const put = await httpRequest(port, {
      method: 'PUT',
      path: '/files/bench.bin',
      host,
      body: Buffer.alloc(64 * 1024, 0x61).toString(),
      headers: { authorization: `Bearer ${token}` },
    });
    if (put.status >= 300) throw new Error(`upload: ${put.status} ${put.text}`);
    console.error(`[rss] ${name}: uploaded`);
    await sleep(3000);
    const rest = { rss: rssMiB(pid), ...(await v8()) };
    const auth = { Host: host, Authorization: `Bearer ${token}` };
    const rps = [
      wrk(`http://127.0.0.1:${port}/health`, auth),
      wrk(`http://127.0.0.1:${port}/files/bench.bin`, auth),
    ];
    const burst = { rss: rssMiB(pid), ...(await v8()) };
    await sleep(20_000);
    const later = { rss: rssMiB(pid), ...(await v8()) };
    const f = (x: { rss: number; heapUsed: number; heapTotal: number; external: number }) =>
      `${x.rss.toFixed(0)} / ${x.heapUsed.toFixed(0)} / ${x.heapTotal.toFixed(0)} / ${x.external.toFixed(0)}`;
    rows.push(
      `| ${name} | ${f(rest)} | ${f(burst)} | ${f(later)} | ${rps.map((r) => r.toFixed(0)).join(' / ')} |`,
    );
    console.error(rows.at(-1));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}
console.log(
  [
    `wrk -t1 -c64, ${SECONDS} s of GET /health then ${SECONDS} s of a 64 KiB file, through the router, signed in. MiB: RSS / heap used / heap total / external.`,
    '',
    '| variant | at rest | after the bursts | 20 s later | req/s (health / 64 KiB) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n'),
);
