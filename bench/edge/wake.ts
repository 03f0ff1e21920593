/**
 * Issue 15's wake figures, through the native edge: a real platform (Docker runtime, the instance
 * image) behind `startNginxEdge`, one instance; each round puts it to sleep one way and times the
 * next request through the edge (the owner's API call, Authorization: Bearer) until it answers:
 *  - frozen (`/containers/{h}/pause`, the idle sweep's first tier): the edge has no route, the
 *    platform unfreezes it and answers;
 *  - stopped (`/containers/{h}/stop`, the second tier): a container start;
 *  - killed behind the platform's back (`docker kill`): the edge meets a dead address, falls back
 *    to the platform, which forgets it and starts the instance for that request.
 * Then the same request once more, straight through the edge (the route published again).
 *
 *   npm run bench -- edge-wake      (needs Docker, the instance image, nginx with lua; ~2 min)
 *
 * WAKE_ROUNDS (7) per kind; medians and the spread. Results: bench/results/edge-wake-<time>.*.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, newToken } from '@matrixos/shared';
import Docker from 'dockerode';
import { startNginxEdge } from '../../packages/platform/src/edge/startNginxEdge.ts';
import { httpRequest, startTestPlatform } from '../../packages/platform/test/harness.ts';
import { writeResults } from '../lib/results.ts';
import { median } from '../lib/stats.ts';

const ROUNDS = Number(process.env.WAKE_ROUNDS ?? 7);
const log = (...a: unknown[]) => console.error(`[edge-wake ${new Date().toISOString().slice(11, 19)}]`, ...a);

const platformPort = await freePort();
const edgePort = await freePort();
const secret = newToken('mxe');
const dir = mkdtempSync(path.join(tmpdir(), 'matrixos-edge-wake-'));
const edge = await startNginxEdge({
  domain: 'localhost',
  platform: { host: '127.0.0.1', port: platformPort },
  listen: { host: '127.0.0.1', port: edgePort },
  adminPort: await freePort(),
  secret,
  dir,
  workers: 1,
});
const t = await startTestPlatform({
  runtime: 'docker',
  port: platformPort,
  env: {
    PUBLIC_URL: `http://localhost:${edgePort}`,
    TRUST_PROXY: 'true',
    EDGE_ADMIN_URL: edge.adminUrl,
    EDGE_SECRET: secret,
    IDLE_TIMEOUT: '0',
    PAUSE_AFTER: '0',
  },
});
const docker = new Docker();
const handle = 'waker';

async function routed(): Promise<boolean> {
  const r = await fetch(`${edge.adminUrl}/routes`, { headers: { authorization: `Bearer ${secret}` } });
  return handle in ((await r.json()) as Record<string, string>);
}

/** ms until the owner's request through the edge answers 200. */
async function timedRequest(token: string): Promise<number> {
  const started = performance.now();
  const r = await httpRequest(edgePort, {
    path: '/api/session',
    host: `${handle}.localhost:${edgePort}`,
    headers: { authorization: `Bearer ${token}` },
  });
  if (r.status !== 200) throw new Error(`through the edge: ${r.status} ${r.text.slice(0, 200)}`);
  return performance.now() - started;
}

async function waitRouted(): Promise<void> {
  for (let i = 0; i < 200 && !(await routed()); i++) await sleep(25);
}

try {
  const token = await t.provision(handle);
  await waitRouted();
  const figures: Record<string, number[]> = { frozen: [], stopped: [], killed: [], direct: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of ['frozen', 'stopped', 'killed'] as const) {
      if (kind === 'frozen') await t.admin('POST', `/containers/${handle}/pause`);
      if (kind === 'stopped') await t.admin('POST', `/containers/${handle}/stop`);
      if (kind === 'killed') {
        const id = t.platform.orchestrator.get(handle).engineId!;
        await docker.getContainer(id).kill();
      }
      await sleep(300); // the edge has been told (or, killed, has not)
      figures[kind]!.push(await timedRequest(token));
      await waitRouted();
      figures.direct!.push(await timedRequest(token));
    }
    log(`round ${round + 1}/${ROUNDS}`);
  }
  const row = (name: string, xs: number[]) =>
    `| ${name} | ${median(xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)} |`;
  const md = [
    `# Wake through the native edge (${new Date().toISOString()})`,
    '',
    `${ROUNDS} rounds, one instance (Docker), the owner's API request through nginx + lua; ms.`,
    '',
    '| asleep how | median ms | range |',
    '| --- | ---: | ---: |',
    row('frozen (pause tier)', figures.frozen!),
    row('stopped (stop tier)', figures.stopped!),
    row('killed behind the back', figures.killed!),
    row('awake, straight through the edge', figures.direct!),
  ].join('\n');
  console.log(md);
  writeResults('edge-wake', md, figures);
} finally {
  await t.destroy();
  await edge.stop();
  rmSync(dir, { recursive: true, force: true });
}
