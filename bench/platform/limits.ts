/**
 * Issue 7 §3, measured on the platform as its own process (`main.ts`, process runtime): what a
 * 700 MiB POST to `/auth/login/options` costs it (time to the 413, its resident memory before,
 * after and at peak), and how many anonymous `GET /health` it answers per second at 50 at a time.
 *
 *   bash scripts/node24.sh node bench/platform/limits.ts
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { newToken } from '@matrixos/shared';
import { httpRequest, spawnPlatform } from '../../packages/platform/test/harness.ts';

const MiB = 1024 * 1024;

function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMiB: Math.round(kb('VmRSS') / 1024), peakMiB: Math.round(kb('VmHWM') / 1024) };
}

function bigPost(
  port: number,
  size: number,
  chunked: boolean,
): Promise<{ status: number; ms: number; sentMiB: number }> {
  const chunk = Buffer.alloc(MiB, 0x7b);
  const t0 = performance.now();
  return new Promise((resolve) => {
    let sent = 0;
    const done = (status: number) =>
      resolve({ status, ms: Math.round(performance.now() - t0), sentMiB: Math.round(sent / MiB) });
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/auth/login/options',
      headers: {
        host: `localhost:${port}`,
        origin: `http://localhost:${port}`,
        'content-type': 'application/json',
        ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(size) }),
      },
    });
    req.on('response', (res) => {
      res.resume();
      req.destroy();
      done(res.statusCode ?? 0);
    });
    req.on('error', () => done(0));
    const pump = () => {
      while (sent < size && !req.destroyed) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!req.destroyed) req.end();
    };
    pump();
  });
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'matrixos-bench-limits-'));
const { port, child } = await spawnPlatform({
  DATA_DIR: dataDir,
  RUNTIME: 'process',
  PLATFORM_ID: `b${Date.now().toString(36)}`,
  PLATFORM_ADMIN_TOKEN: newToken('mxa'),
});
try {
  const pid = child.pid!;
  for (const chunked of [false, true]) {
    const before = memoryOf(pid);
    const r = await bigPost(port, 700 * MiB, chunked);
    await new Promise((res) => setTimeout(res, 500));
    const after = memoryOf(pid);
    console.log(
      `700 MiB POST (${chunked ? 'chunked' : 'Content-Length'}): ${r.status} after ${r.ms} ms, client had written ${r.sentMiB} MiB; platform RSS ${before.rssMiB} → ${after.rssMiB} MiB (peak ${after.peakMiB} MiB)`,
    );
  }
  const total = 5000;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next++ < total) await httpRequest(port, { path: '/health' });
    }),
  );
  const s = (performance.now() - t0) / 1000;
  console.log(`GET /health (anonymous), 50 at a time: ${Math.round(total / s)} requests/s`);
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
}
