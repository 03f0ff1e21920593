import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { httpRequest, startTestPlatformBehindEdge } from '../../packages/platform/test/harness.ts';
import { writeResults } from '../lib/results.ts';
import { median } from '../lib/stats.ts';

const ROUNDS = Number(process.env.WAKE_ROUNDS ?? 7);
const log = (...a: unknown[]) => console.error(`[edge-wake ${new Date().toISOString().slice(11, 19)}]`, ...a);

const behind = await startTestPlatformBehindEdge({
  runtime: 'docker',
  env: { IDLE_TIMEOUT: '0', PAUSE_AFTER: '0' },
});
const { t, edgePort } = behind;
const docker = new Docker();
const handle = 'waker';

async function routed(): Promise<boolean> {
  return handle in (await behind.routes());
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
  await behind.close();
}
