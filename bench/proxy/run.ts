/**
 * Added latency of the LLM proxy over a direct connection to the same Anthropic stand-in, in the
 * same run: time to first byte and total, JSON and streaming, at concurrency 1 and 16, with p50
 * and p99; then the proxy's memory per open stream. With `LITELLM_BIN` pointing at LiteLLM's
 * `litellm` command, LiteLLM's proxy is measured the same way beside it.
 *
 *   bash scripts/node24.sh node bench/proxy/run.ts            (a few minutes)
 *   bash scripts/node24.sh node bench/proxy/run.ts --quick    (a smoke run)
 *   ... --wait-quiet    first waits (up to 10 min) for the 1-minute load average to drop below 0.3
 *
 * Each piece runs in its own process (stand-in, proxy, LiteLLM, this load generator), on loopback.
 * Targets are measured in interleaved rounds so drift in the machine hits them alike. The CPU
 * time each middle process spends per request is read from /proc: unlike latency, it hardly
 * moves when other work shares the machine.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@matrixos/shared';

const ROOT = path.resolve(import.meta.dirname, '../..');
const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 2 : 5;
const COUNTS: Record<number, number> = QUICK ? { 1: 100, 16: 400 } : { 1: 1000, 16: 4000 };
const OPEN_STREAMS = QUICK ? 300 : 1000;
const MODEL = 'claude-sonnet-5-5';
const ADMIN = 'bench-admin-token-0123456789abcdef';
const PLATFORM_KEY = 'sk-ant-bench-platform-key';
const TOKEN = `mxp_${'b'.repeat(43)}`;

interface Target {
  name: string;
  port: number;
  path: string;
  headers: Record<string, string>;
}

interface Sample {
  ttfb: number;
  total: number;
}

const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

function start(cmd: string, args: string[], env: Record<string, string>, log: string): ChildProcess {
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  child.stdout!.on('data', (d) => out.push(String(d)));
  child.stderr!.on('data', (d) => out.push(String(d)));
  child.on('exit', (code) => {
    if (code !== null && code !== 0) console.error(`${log} exited ${code}:\n${out.join('').slice(-2000)}`);
  });
  // Keep only the tail of what it prints; the proxy logs a line per request.
  setInterval(() => out.splice(0, Math.max(0, out.length - 50)), 1000).unref();
  children.push(child);
  return child;
}

async function waitFor(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { headers });
      await res.body?.cancel();
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** User + system CPU time of a process, in milliseconds (clock ticks are 10 ms here). */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

async function waitQuiet(): Promise<void> {
  const deadline = Date.now() + 600_000;
  while (os.loadavg()[0]! > 0.3 && Date.now() < deadline) {
    console.error(`waiting for a quiet machine (load ${os.loadavg()[0]!.toFixed(2)})`);
    await new Promise((r) => setTimeout(r, 15_000));
  }
}

function once(agent: http.Agent, t: Target, body: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let ttfb = 0;
    const req = http.request(
      {
        host: '127.0.0.1',
        port: t.port,
        path: t.path,
        method: 'POST',
        agent,
        headers: {
          ...t.headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`${t.name}: HTTP ${res.statusCode}`));
        res.on('data', () => {
          ttfb ||= performance.now() - t0;
        });
        res.on('end', () => resolve({ ttfb, total: performance.now() - t0 }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function load(t: Target, body: string, concurrency: number, count: number): Promise<Sample[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const samples: Sample[] = [];
  let started = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started++ < count) samples.push(await once(agent, t, body));
    }),
  );
  agent.destroy();
  return samples;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

function stats(samples: Sample[]) {
  const ttfb = samples.map((s) => s.ttfb).sort((a, b) => a - b);
  const total = samples.map((s) => s.total).sort((a, b) => a - b);
  return {
    n: samples.length,
    ttfb50: pct(ttfb, 50),
    ttfb99: pct(ttfb, 99),
    total50: pct(total, 50),
    total99: pct(total, 99),
  };
}

/**
 * Opens up to `n` streams that the stand-in holds open (for at most a minute: a server may stop
 * accepting them), and reads the target's memory growth per stream that opened.
 */
async function memoryPerStream(t: Target, pid: number, n: number): Promise<{ kb: number; opened: number }> {
  const body = JSON.stringify({
    model: MODEL,
    max_tokens: 64,
    stream: true,
    metadata: { user_id: 'hang' },
    messages: [{ role: 'user', content: 'hold' }],
  });
  const warm = JSON.stringify({
    model: MODEL,
    max_tokens: 64,
    messages: [{ role: 'user', content: 'warm' }],
  });
  await load(t, warm, 4, 200);
  await new Promise((r) => setTimeout(r, 500));
  const before = rssMb(pid);
  const agent = new http.Agent({ keepAlive: false, maxSockets: n });
  const requests: http.ClientRequest[] = [];
  let opened = 0;
  const all = Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve) => {
          const req = http.request(
            {
              host: '127.0.0.1',
              port: t.port,
              path: t.path,
              method: 'POST',
              agent,
              headers: { ...t.headers, 'content-type': 'application/json' },
            },
            (res) => {
              res.once('data', () => {
                if (res.statusCode === 200) opened++;
                resolve();
              });
            },
          );
          req.on('error', () => resolve());
          requests.push(req);
          req.end(body);
        }),
    ),
  );
  await Promise.race([all, new Promise((r) => setTimeout(r, 60_000))]);
  await new Promise((r) => setTimeout(r, 500));
  const after = rssMb(pid);
  for (const r of requests) r.destroy();
  agent.destroy();
  await new Promise((r) => setTimeout(r, 2000));
  return { kb: opened > 0 ? ((after - before) * 1024) / opened : Number.NaN, opened };
}

async function main(): Promise<void> {
  if (process.argv.includes('--wait-quiet')) await waitQuiet();
  const loadBefore = os.loadavg()[0]!;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-proxy-'));
  const upPort = await freePort();
  const proxyPort = await freePort();
  const upstream = start('node', ['bench/proxy/upstream.ts'], { PORT: String(upPort) }, 'stand-in');
  const upstreamUrl = `http://127.0.0.1:${upPort}`;
  await waitFor(`${upstreamUrl}/v1/models`);

  const proxy = start(
    'node',
    ['packages/proxy/src/main.ts'],
    {
      PROXY_PORT: String(proxyPort),
      PROXY_HOST: '127.0.0.1',
      DATA_DIR: dir,
      ANTHROPIC_UPSTREAM_URL: upstreamUrl,
      ANTHROPIC_API_KEY: PLATFORM_KEY,
      PLATFORM_ADMIN_TOKEN: ADMIN,
      MAX_INFLIGHT_PER_USER: String(OPEN_STREAMS + 100),
      LOG_LEVEL: 'info',
    },
    'proxy',
  );
  const proxyUrl = `http://127.0.0.1:${proxyPort}`;
  await waitFor(`${proxyUrl}/health`);
  const admin = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
  await fetch(`${proxyUrl}/keys/bench`, {
    method: 'PUT',
    headers: admin,
    body: JSON.stringify({ token: TOKEN }),
  });
  await fetch(`${proxyUrl}/quotas/bench`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ totalUsd: null }),
  });

  const apiHeaders = { 'anthropic-version': '2023-06-01' };
  const targets: Target[] = [
    {
      name: 'direct',
      port: upPort,
      path: '/v1/messages',
      headers: { ...apiHeaders, 'x-api-key': PLATFORM_KEY },
    },
    { name: 'proxy', port: proxyPort, path: '/v1/messages', headers: { ...apiHeaders, 'x-api-key': TOKEN } },
  ];
  const pids: Record<string, number> = { proxy: proxy.pid! };

  const litellmBin = process.env.LITELLM_BIN;
  if (litellmBin) {
    const litellmPort = await freePort();
    const config = path.join(dir, 'litellm.yaml');
    writeFileSync(
      config,
      [
        'model_list:',
        `  - model_name: ${MODEL}`,
        '    litellm_params:',
        `      model: anthropic/${MODEL}`,
        `      api_base: ${upstreamUrl}`,
        `      api_key: ${PLATFORM_KEY}`,
        'general_settings:',
        '  master_key: sk-litellm-bench',
        'litellm_settings:',
        '  telemetry: false',
        '',
      ].join('\n'),
    );
    const litellm = start(
      litellmBin,
      ['--config', config, '--port', String(litellmPort), '--host', '127.0.0.1', '--num_workers', '1'],
      { LITELLM_LOG: 'ERROR', LITELLM_LOCAL_MODEL_COST_MAP: 'True', NO_DOCS: 'True' },
      'litellm',
    );
    await waitFor(`http://127.0.0.1:${litellmPort}/health/liveliness`);
    targets.push({
      name: 'litellm',
      port: litellmPort,
      path: '/v1/messages',
      headers: { ...apiHeaders, 'x-api-key': 'sk-litellm-bench' },
    });
    pids.litellm = litellm.pid!;
  }

  const results: Record<string, unknown>[] = [];
  const cpu: Record<string, { ms: number; requests: number }> = {};
  for (const stream of [false, true]) {
    const body = JSON.stringify({
      model: MODEL,
      max_tokens: 256,
      stream,
      messages: [{ role: 'user', content: 'Tell me about foxes.' }],
    });
    for (const concurrency of [1, 16]) {
      const pooled: Record<string, Sample[]> = {};
      for (const t of targets) await load(t, body, concurrency, 50); // warm up
      for (let round = 0; round < ROUNDS; round++) {
        for (const t of targets) {
          const pid = pids[t.name];
          const before = pid ? cpuMs(pid) : 0;
          const samples = await load(t, body, concurrency, COUNTS[concurrency]! / ROUNDS);
          pooled[t.name] = [...(pooled[t.name] ?? []), ...samples];
          if (pid) {
            const c = cpu[t.name] ?? { ms: 0, requests: 0 };
            c.ms += cpuMs(pid) - before;
            c.requests += samples.length;
            cpu[t.name] = c;
          }
        }
      }
      const direct = stats(pooled.direct!);
      for (const t of targets) {
        const s = stats(pooled[t.name]!);
        results.push({
          mode: stream ? 'stream' : 'json',
          concurrency,
          target: t.name,
          ...s,
          addedTtfb50: s.ttfb50 - direct.ttfb50,
          addedTtfb99: s.ttfb99 - direct.ttfb99,
          addedTotal50: s.total50 - direct.total50,
          addedTotal99: s.total99 - direct.total99,
        });
      }
    }
  }

  const f = (ms: unknown) => (ms as number).toFixed(2);
  const lines = [
    '| mode | conc. | target | n | TTFB p50 | TTFB p99 | total p50 | total p99 | added TTFB p50 / p99 | added total p50 / p99 |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.mode} | ${r.concurrency} | ${r.target} | ${r.n} | ${f(r.ttfb50)} | ${f(r.ttfb99)} | ${f(r.total50)} | ${f(r.total99)} | ` +
        (r.target === 'direct'
          ? '- | - |'
          : `${f(r.addedTtfb50)} / ${f(r.addedTtfb99)} | ${f(r.addedTotal50)} / ${f(r.addedTotal99)} |`),
    ),
  ];
  console.log(lines.join('\n'));
  const cpuPerRequest = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v.ms / v.requests]));
  console.log(
    `\nCPU per request (all modes): ${Object.entries(cpuPerRequest)
      .map(([k, v]) => `${k} ${v.toFixed(2)} ms`)
      .join(', ')}`,
  );
  const loadAfter = os.loadavg()[0]!;
  console.log(`load average (1 min) before ${loadBefore.toFixed(2)}, after ${loadAfter.toFixed(2)}`);

  const memory: Record<string, { kb: number; opened: number }> = {};
  for (const t of targets) {
    if (pids[t.name]) memory[t.name] = await memoryPerStream(t, pids[t.name]!, OPEN_STREAMS);
  }
  console.log(
    `memory per open stream (RSS growth / streams open): ${Object.entries(memory)
      .map(([k, v]) => `${k} ${v.kb.toFixed(1)} KB (${v.opened} of ${OPEN_STREAMS} open)`)
      .join(', ')}`,
  );

  const summary = {
    when: new Date().toISOString(),
    loadBefore,
    loadAfter,
    cpuMsPerRequest: cpuPerRequest,
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    quick: QUICK,
    results,
    memoryPerOpenStream: memory,
    openStreams: OPEN_STREAMS,
  };
  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  const stamp = summary.when.replace(/[:.]/g, '-');
  writeFileSync(
    path.join(ROOT, `bench/results/proxy-${stamp}.json`),
    `${JSON.stringify(summary, null, 2)}\n`,
  );
  for (const c of children) c.kill('SIGTERM');
  upstream.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}

await main();
process.exit(0);
