/**
 * Social benchmark (issue 8 §6, the platform's half): delivery latency of an instance-to-instance
 * message, `POST /instance/v1/social/send/{handle}` until its `200 delivered` (which comes once
 * the recipient's gateway took it into its inbox), to an awake and to a sleeping recipient; and,
 * for scale, the same POST straight to the recipient's delivery route (no platform in between).
 *
 *   npm run bench -- social                           # process runtime, stand-in recipients
 *   BENCH_RUNTIME=docker npm run bench -- social      # real instance image (its gateway must
 *                                                     # serve SOCIAL_INBOX_PATH: issue 8's gateway half)
 *
 * Process runtime: recipients are `packages/platform/test/fixtures/socialInstance.ts` (the
 * delivery route at the wire); a sleeping one is a stopped process, woken by the send.
 * Results: printed as markdown and written to bench/results/social-<time>.{md,json}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SOCIAL_INBOX_PATH, SOCIAL_LIMITS } from '../../packages/platform/src/api/contract/social.ts';
import { httpRequest, startTestPlatform } from '../../packages/platform/test/harness.ts';

const N = Number(process.env.BENCH_SAMPLES ?? 20);
const SLEEPING = Number(process.env.BENCH_SLEEP_ROUNDS ?? 8);
const runtime = process.env.BENCH_RUNTIME === 'docker' ? 'docker' : 'process';
const root = path.resolve(import.meta.dirname, '../..');
const FIXTURE = path.join(root, 'packages/platform/test/fixtures/socialInstance.ts');
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
  return { n: s.length, median: q(0.5), p95: q(0.95), min: s[0] ?? Number.NaN, max: s.at(-1) ?? Number.NaN };
};
const results: Record<string, unknown> = { at: new Date().toISOString(), node: process.version, runtime };

const t = await startTestPlatform({
  runtime,
  ...(runtime === 'process' ? { command: [process.execPath, FIXTURE] } : {}),
});
try {
  // Enough senders that the per-sender limit (10 a minute) never decides a sample.
  const senders = Array.from(
    { length: Math.ceil((N + SLEEPING) / SOCIAL_LIMITS.sendsPerMinute) + 1 },
    (_, i) => `s${i}x`,
  );
  const tokens = new Map<string, string>();
  for (const h of ['rcpt', ...senders]) tokens.set(h, await t.provision(h));
  const api = new URL(t.platform.instanceApiUrl()!);
  let n = 0;
  async function sendOnce(): Promise<number> {
    const from = senders[Math.floor(n++ / SOCIAL_LIMITS.sendsPerMinute)]!;
    const t0 = performance.now();
    const r = await httpRequest(Number(api.port), {
      method: 'POST',
      path: '/instance/v1/social/send/rcpt',
      headers: { authorization: `Bearer ${tokens.get(from)}` },
      body: { text: `bench message ${n}` },
    });
    const ms = performance.now() - t0;
    if (r.status !== 200) throw new Error(`send: ${r.status} ${r.text}`);
    return ms;
  }

  // Awake: the recipient runs; one warm-up send first.
  await sendOnce();
  const awake: number[] = [];
  for (let i = 0; i < N; i++) awake.push(await sendOnce());
  results.awakeSendToInboxMs = stats(awake);

  // Direct: the same delivery POSTed to the recipient's gateway itself, for the platform's share.
  const endpoint = await t.platform.lifecycle.wake('rcpt');
  const direct: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const r = await fetch(`http://${endpoint.host}:${endpoint.port}${SOCIAL_INBOX_PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.get('rcpt')}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: `smsg_${Date.now().toString(36).padStart(9, '0')}${String(i).padStart(12, '0')}`,
        from: 's0x',
        fromDisplayName: 's0x',
        to: 'rcpt',
        text: 'direct',
        sentAt: new Date().toISOString(),
        inReplyTo: null,
        recipient: { autoReply: false, dailyAutoReplyCap: 0 },
      }),
    });
    await r.text();
    direct.push(performance.now() - t0);
    if (!r.ok) throw new Error(`direct: ${r.status}`);
  }
  results.directToGatewayMs = stats(direct);

  // Sleeping: stopped before each send; the send wakes it.
  const sleeping: number[] = [];
  for (let i = 0; i < SLEEPING; i++) {
    const stop = await t.admin('POST', '/containers/rcpt/stop');
    if (stop.status !== 200) throw new Error(`stop: ${stop.status} ${stop.text}`);
    await sleep(200);
    sleeping.push(await sendOnce());
  }
  results.sleepingSendToInboxMs = stats(sleeping);
} finally {
  await t.destroy();
}

const md = [
  `Runtime: ${runtime}. Node ${process.version}.`,
  '',
  '| measure | median ms | p95 ms | min | max | n |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  ...['awakeSendToInboxMs', 'directToGatewayMs', 'sleepingSendToInboxMs'].map((k) => {
    const s = results[k] as ReturnType<typeof stats>;
    return `| ${k} | ${s.median.toFixed(1)} | ${s.p95.toFixed(1)} | ${s.min.toFixed(1)} | ${s.max.toFixed(1)} | ${s.n} |`;
  }),
].join('\n');
console.log(md);
const out = path.join(root, 'bench/results');
mkdirSync(out, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
writeFileSync(path.join(out, `social-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(path.join(out, `social-${stamp}.md`), `${md}\n`);
