/**
 * Matrix benchmark (issue 8 §6): the round trip between two awake instances' AIs over a real
 * Synapse (hamed's AI sends to @alice_ai with its matrix_message path; alice's gateway answers
 * in its sandbox with the stand-in model; until the answer is in hamed's inbox), and the memory
 * of a gateway process with its Matrix client syncing against the same gateway without Matrix.
 *
 *   npm run bench -- matrix          (BENCH_SAMPLES, default 15: under the daily auto-reply cap)
 *
 * Gateways run in this process for the round trip (no container between), and as real
 * `packages/gateway/src/main.ts` processes for the memory figure (RSS after BENCH_SETTLE_MS).
 * Results: printed as markdown and written to bench/results/matrix-<time>.{md,json}.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGateway } from '../../packages/gateway/test/harness.ts';
import { reply, startUpstreamStandIn } from '../../packages/proxy/test/testing.ts';
import { freePort } from '../../packages/shared/src/freePort.ts';
import { startSynapse } from '../../packages/shared/src/testing/synapse.ts';

const N = Number(process.env.BENCH_SAMPLES ?? 15);
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 15_000);
const root = path.resolve(import.meta.dirname, '../..');
const KEY = 'sk-ant-bench';
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
  return { n: s.length, median: q(0.5), p95: q(0.95), min: s[0] ?? Number.NaN, max: s.at(-1) ?? Number.NaN };
};
const results: Record<string, unknown> = { at: new Date().toISOString(), node: process.version };

const synapse = await startSynapse();
if (!synapse) throw new Error('Synapse is needed (scripts/synapse.sh install)');
const upstream = await startUpstreamStandIn({ fallback: reply('Tuesday works.') });
try {
  const acc: Record<string, { userId: string; accessToken: string; deviceId: string }> = {};
  for (const n of ['alice', 'alice_ai', 'hamed', 'hamed_ai']) acc[n] = await synapse.register(n);
  const matrixOf = (h: string) => ({
    homeserverUrl: synapse.url,
    userId: acc[`${h}_ai`]!.userId,
    accessToken: acc[`${h}_ai`]!.accessToken,
    deviceId: acc[`${h}_ai`]!.deviceId,
    ownerId: acc[h]!.userId,
  });
  const alice = await startGateway({
    handle: 'alice',
    anthropicBaseUrl: upstream.url,
    anthropicApiKey: KEY,
    matrix: matrixOf('alice'),
  });
  const hamed = await startGateway({
    handle: 'hamed',
    anthropicBaseUrl: upstream.url,
    anthropicApiKey: KEY,
    matrix: matrixOf('hamed'),
  });
  const running = (g: typeof alice) =>
    g.gateway.channels.list().find((c) => c.name === 'matrix')?.state === 'running';
  while (!running(alice) || !running(hamed)) await sleep(100);
  // The kernel's matrix_message tool calls the channel's sendToPeer; the bench calls it directly.
  const rounds: number[] = [];
  for (let i = 0; i < N + 1; i++) {
    const answered = new Promise<void>((resolve) => {
      const off = hamed.gateway.bus.subscribe((e) => {
        if (e.type === 'social.message' && e.peer === 'alice' && e.item.from === 'peer') {
          off();
          resolve();
        }
      });
    });
    const t0 = performance.now();
    await hamed.gateway.matrix.sendToPeer('alice', `Lunch on Tuesday? (${i})`);
    await answered;
    // The first round also opens the room (invite, join): reported apart.
    if (i === 0) results.firstRoundMs = performance.now() - t0;
    else rounds.push(performance.now() - t0);
  }
  results.roundTripMs = stats(rounds);
  await alice.close();
  await hamed.close();

  // Memory: the real gateway process, with and without its Matrix client.
  async function rss(withMatrix: boolean): Promise<number> {
    const home = mkdtempSync(path.join(tmpdir(), 'matrixos-bench-home-'));
    const port = await freePort();
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      MATRIXOS_HOME: home,
      PORT: String(port),
      HOST: '127.0.0.1',
      ANTHROPIC_BASE_URL: upstream.url,
      ANTHROPIC_API_KEY: KEY,
      LOG_LEVEL: 'warn',
      ...(withMatrix
        ? {
            MATRIX_HOMESERVER_URL: synapse!.url,
            MATRIX_USER_ID: acc.alice_ai!.userId,
            MATRIX_ACCESS_TOKEN: acc.alice_ai!.accessToken,
            MATRIX_OWNER_ID: acc.alice!.userId,
          }
        : {}),
    };
    const child = spawn(process.execPath, [path.join(root, 'packages/gateway/src/main.ts')], {
      env,
      stdio: 'ignore',
    });
    try {
      for (let i = 0; i < 200; i++) {
        const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        await sleep(100);
      }
      await sleep(SETTLE_MS);
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) * 1024;
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(home, { recursive: true, force: true });
    }
  }
  const without: number[] = [];
  const withM: number[] = [];
  for (let i = 0; i < 3; i++) {
    without.push(await rss(false));
    withM.push(await rss(true));
  }
  results.gatewayRssBytes = { withoutMatrix: stats(without), withMatrixSyncing: stats(withM) };
} finally {
  await upstream.close();
  synapse.destroy();
}

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
const rt = results.roundTripMs as ReturnType<typeof stats>;
const mem = results.gatewayRssBytes as Record<string, ReturnType<typeof stats>>;
const md = [
  `# Matrix benchmark (${results.at}, Node ${results.node})`,
  '',
  '| measure | median | p95 | min | max | n |',
  '| --- | --- | --- | --- | --- | --- |',
  `| AI-to-AI round trip over Matrix (send → answer in sender's inbox), ms | ${rt.median.toFixed(0)} | ${rt.p95.toFixed(0)} | ${rt.min.toFixed(0)} | ${rt.max.toFixed(0)} | ${rt.n} |`,
  `| first round (opens the room: create, invite, join), ms | ${(results.firstRoundMs as number).toFixed(0)} | | | | 1 |`,
  `| gateway RSS without Matrix | ${mb(mem.withoutMatrix!.median)} | | ${mb(mem.withoutMatrix!.min)} | ${mb(mem.withoutMatrix!.max)} | ${mem.withoutMatrix!.n} |`,
  `| gateway RSS with the Matrix client syncing | ${mb(mem.withMatrixSyncing!.median)} | | ${mb(mem.withMatrixSyncing!.min)} | ${mb(mem.withMatrixSyncing!.max)} | ${mem.withMatrixSyncing!.n} |`,
].join('\n');
console.log(md);
const out = path.join(root, 'bench/results');
mkdirSync(out, { recursive: true });
const stamp = String(results.at).replace(/[:.]/g, '-');
writeFileSync(path.join(out, `matrix-${stamp}.md`), `${md}\n`);
writeFileSync(path.join(out, `matrix-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
