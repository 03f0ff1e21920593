/**
 * The swarm runtime on a real 3-node swarm (scripts/swarm-cluster.sh), run by scripts/ci/swarm.sh
 * with vitest.swarm.config.ts, inside the network namespace of a container on the overlay network
 * (the platform's seat on it, as a production platform container has). Not part of `npm test`:
 * without the cluster there is nothing to run against, and these take minutes.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createLogger } from '@matrixos/shared';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../../src/orchestrator/orchestrator.ts';
import { demuxLogs } from '../../src/runtime/docker/demuxLogs.ts';
import { createSwarmDriver, PLATFORM_ALIAS, type SwarmDriver } from '../../src/runtime/swarm/swarmDriver.ts';
import { startTestPlatform, type TestPlatform } from '../harness.ts';

const DIR = process.env.SWARM_DIR;
if (!DIR) throw new Error('SWARM_DIR is not set: run scripts/ci/swarm.sh (it starts the cluster)');
const CLUSTER = path.resolve(import.meta.dirname, '../../../../scripts/swarm-cluster.sh');
const sock = (n: number) => path.join(DIR, `n${n}`, 'docker.sock');
const engines = () => new Map([1, 2, 3].map((n) => [`node${n}`, new Docker({ socketPath: sock(n) })]));
const manager = new Docker({ socketPath: sock(1) });
const cluster = (...args: string[]) => execFileSync('bash', [CLUSTER, ...args, DIR], { stdio: 'pipe' });

const platformId = `sw${process.pid}`;
const dataDir = mkdtempSync(path.join(tmpdir(), 'matrixos-swarm-'));
const adminToken = `mxa_${'s'.repeat(40)}`;
const log = createLogger('swarm-test', process.env.LOG_LEVEL ?? 'silent');
let driver: SwarmDriver;
const makeDriver = (id: string) => {
  driver = createSwarmDriver({
    manager,
    nodes: engines(),
    platformId: id,
    platformContainer: process.env.SWARM_PLATFORM_CONTAINER,
    log,
    stopGraceMs: 3000,
  });
  return driver;
};
const start = () =>
  startTestPlatform({
    runtime: 'swarm',
    driver: makeDriver,
    platformId,
    dataDir,
    adminToken,
    env: { RUNTIME: 'swarm', WAKE_TIMEOUT: '60s', PAUSE_AFTER: '0' },
  });

let t: TestPlatform;
const progress: Progress[] = [];
/** Instance tokens by handle: they outlive a platform restart (the harness's own map does not). */
const tokens = new Map<string, string>();
const provision = async (h: string) => tokens.set(h, await t.provision(h));
const call = (h: string, o: { method?: string; path: string; body?: string }) =>
  t.instance(h, { ...o, headers: { authorization: `Bearer ${tokens.get(h)}` } });
const whereIs = async (handles: string[], node: string) =>
  (await Promise.all(handles.map(async (u) => [u, await nodeOf(u)] as const)))
    .filter(([, n]) => n === node)
    .map(([u]) => u);
const nodeOf = async (handle: string) =>
  (await t.admin('GET', `/containers/${handle}`)).json<{ instance: { node: string } }>().instance.node;
const until = async <T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
};
async function nodeId(name: string): Promise<{ id: string; version: number; spec: Record<string, unknown> }> {
  const list = (await manager.listNodes()) as {
    ID: string;
    Version: { Index: number };
    Spec: { Labels?: Record<string, string> };
  }[];
  const n = list.find((x) => x.Spec.Labels?.['dev.matrixos.node'] === name)!;
  return { id: n.ID, version: n.Version.Index, spec: n.Spec };
}
/** Runs a command in a user's running container, on its node's engine; its output. */
async function execIn(handle: string, cmd: string[]): Promise<string> {
  const engine = engines().get(await nodeOf(handle))!;
  const [c] = await engine.listContainers({ filters: { label: [`dev.matrixos.handle=${handle}`] } });
  const exec = await engine.getContainer(c!.Id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  return new Promise<string>((resolve, reject) =>
    exec.start({}, (err, stream) => {
      if (err || !stream) return reject(err ?? new Error('no stream'));
      const chunks: Buffer[] = [];
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('end', () => resolve(demuxLogs(Buffer.concat(chunks))));
    }),
  );
}
async function setAvailability(name: string, availability: 'drain' | 'active'): Promise<void> {
  const n = await nodeId(name);
  await manager.getNode(n.id).update({ ...n.spec, Availability: availability, version: n.version });
}

const t0 = Date.now();
beforeAll(async () => {
  t = await start();
  t.platform.orchestrator.events.on('progress', (p) => {
    progress.push(p);
    if (process.env.SWARM_TRACE)
      console.log(`${((Date.now() - t0) / 1000).toFixed(1)}s ${p.handle} ${p.step} ${p.message}`);
  });
}, 120_000);

afterAll(async () => {
  await setAvailability('node3', 'active').catch(() => undefined);
  await t?.destroy();
  rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

describe('the swarm runtime on a 3-node swarm', () => {
  const users = ['ann', 'bob', 'cat'];

  it('spreads new users over the nodes and routes by Host to each', async () => {
    for (const h of users) await provision(h);
    const nodes = await Promise.all(users.map(nodeOf));
    expect(new Set(nodes)).toEqual(new Set(['node1', 'node2', 'node3']));
    for (const h of users) {
      const r = await call(h, { path: '/api/system/info' });
      expect(r.status).toBe(200);
    }
    // The admin overview names each instance's node, with its memory from that node's engine.
    const ov = (await t.admin('GET', '/admin/overview')).json<{
      instances: { handle: string; node: string; stats: { memoryBytes: number } | null }[];
    }>();
    expect(new Set(ov.instances.map((i) => i.node))).toEqual(new Set(['node1', 'node2', 'node3']));
    for (const i of ov.instances) expect(i.stats?.memoryBytes).toBeGreaterThan(1_000_000);
    // The progress of a provision named Swarm's task states.
    expect(progress.some((p) => p.handle === 'ann' && /^Swarm: /.test(p.message))).toBe(true);
  });

  it('hardens each task as the docker driver does', async () => {
    const node = await nodeOf('ann');
    const engine = engines().get(node)!;
    const [c] = await engine.listContainers({ filters: { label: ['dev.matrixos.handle=ann'] } });
    const info = await engine.getContainer(c!.Id).inspect();
    expect(info.Config.User).toBe('1000:1000');
    expect(info.HostConfig.CapDrop).toEqual(['ALL']);
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.Memory).toBe(t.config.instance.limits.memoryBytes);
    expect(info.HostConfig.NanoCpus).toBe(t.config.instance.limits.nanoCpus);
    expect(info.HostConfig.PidsLimit).toBe(t.config.instance.limits.pids);
    expect(await execIn('ann', ['grep', 'NoNewPrivs', '/proc/1/status'])).toMatch(/NoNewPrivs:\s*1/);
  });

  it('stops and wakes the instance on node 3 by a request', async () => {
    const [onNode3] = await whereIs(users, 'node3');
    if (!onNode3) throw new Error('no user on node 3');
    expect((await t.admin('POST', `/containers/${onNode3}/stop`)).status).toBe(200);
    expect(
      (await t.admin('GET', `/containers/${onNode3}`)).json<{ instance: { state: string } }>().instance.state,
    ).toBe('stopped');
    const r = await call(onNode3, { path: '/api/system/info' });
    expect(r.status).toBe(200);
    expect(await nodeOf(onNode3)).toBe('node3');
  });

  it('starts again after more stops than the three failed tries a start allows', async () => {
    // Swarm keeps each run's ended task: none of them may count against the next start.
    for (let i = 0; i < 4; i++) {
      expect((await t.admin('POST', '/containers/ann/stop')).status).toBe(200);
      expect((await t.admin('POST', '/containers/ann/start')).status).toBe(200);
    }
  });

  it('keeps the data on node 2 through stop, start and a platform restart', async () => {
    const [onNode2] = await whereIs(users, 'node2');
    if (!onNode2) throw new Error('no user on node 2');
    const put = await call(onNode2, { method: 'PUT', path: '/files/notes/kept.txt', body: 'on node 2' });
    expect(put.status).toBeLessThan(300);
    await t.admin('POST', `/containers/${onNode2}/stop`);
    await t.admin('POST', `/containers/${onNode2}/start`);
    expect((await call(onNode2, { path: '/files/notes/kept.txt' })).text).toBe('on node 2');
    await t.stop();
    t = await start();
    for (const u of users) t.track(u);
    expect((await call(onNode2, { path: '/files/notes/kept.txt' })).text).toBe('on node 2');
    expect(await nodeOf(onNode2)).toBe('node2');
  });

  it('moves a user from node 2 to node 3 with its files (matrixos move-user)', async () => {
    const [onNode2] = await whereIs(users, 'node2');
    if (!onNode2) throw new Error('no user on node 2');
    // Asynchronously: the platform it talks to runs in this very process.
    const { stdout: out } = await promisify(execFile)(
      process.execPath,
      [path.resolve(import.meta.dirname, '../../src/cli/matrixos.ts'), 'move-user', onNode2, 'node3'],
      {
        env: {
          ...process.env,
          RUNTIME: 'swarm',
          DATA_DIR: dataDir,
          PLATFORM_ID: platformId,
          PLATFORM_PORT: String(t.port),
          PLATFORM_HOST: '127.0.0.1',
          PLATFORM_ADMIN_TOKEN: adminToken,
          DOCKER_HOST: `unix://${sock(1)}`,
          SWARM_NODE_ENGINES: [1, 2, 3].map((n) => `node${n}=unix://${sock(n)}`).join(','),
          LOG_LEVEL: 'silent',
        },
      },
    );
    expect(JSON.parse(out.trim().split('\n').pop()!)).toMatchObject({
      handle: onNode2,
      from: 'node2',
      to: 'node3',
    });
    expect(await nodeOf(onNode2)).toBe('node3');
    expect(await driver.hasVolume(t.platform.store.get(onNode2)!.volume!)).toBe(true);
    expect((await call(onNode2, { path: '/files/notes/kept.txt' })).text).toBe('on node 2');
    // Nothing is left behind on node 2.
    const left = await engines()
      .get('node2')!
      .listVolumes({ filters: { label: [`dev.matrixos.platform=${platformId}`] } });
    expect(left.Volumes ?? []).toEqual([]);
  });

  it('reports the users of a drained node as unavailable, and gives it no new users', async () => {
    await setAvailability('node3', 'drain');
    const onNode3 = await whereIs(users, 'node3');
    for (const u of onNode3) {
      const view = await until(`${u} reported unavailable`, async () => {
        await t.platform.orchestrator.reconcile();
        const v = (await t.admin('GET', `/containers/${u}`)).json<{
          instance: { state: string; lastError: string | null };
        }>();
        return v.instance.lastError?.includes('drained') ? v.instance : undefined;
      });
      expect(view.lastError).toMatch(/its data is on node node3, which is drained/);
    }
    await provision('dan');
    expect(await nodeOf('dan')).not.toBe('node3');
    await setAvailability('node3', 'active');
    for (const u of onNode3) expect((await t.admin('POST', `/containers/${u}/start`)).status).toBe(200);
  });

  it("reports a lost worker's users unavailable, never recreates them elsewhere, and recovers", async () => {
    const onNode2 = await whereIs([...users, 'dan'], 'node2');
    expect(onNode2.length).toBeGreaterThan(0);
    const victim = onNode2[0]!;
    cluster('stop-node', '2');
    try {
      await until(
        'the manager to see node 2 down',
        async () =>
          (
            (await manager.listNodes()) as {
              Spec: { Labels: Record<string, string> };
              Status: { State: string };
            }[]
          ).find((n) => n.Spec.Labels['dev.matrixos.node'] === 'node2' && n.Status.State === 'down'),
        90_000,
      );
      const r = await t.admin('POST', `/containers/${victim}/start`);
      expect(r.status).toBe(503);
      expect(r.text).toMatch(/its data is on node node2, which is down/);
      // Nothing was made anywhere else: its volume is on no other node.
      const vol = t.platform.store.get(victim)!.volume!;
      for (const n of ['node1', 'node3']) {
        const { Volumes } = await engines().get(n)!.listVolumes();
        expect((Volumes ?? []).some((v) => v.Name.endsWith(vol))).toBe(false);
      }
    } finally {
      cluster('start-node', '2');
    }
    await until(
      'node 2 back',
      async () =>
        (
          (await manager.listNodes()) as {
            Spec: { Labels: Record<string, string> };
            Status: { State: string };
          }[]
        ).find((n) => n.Spec.Labels['dev.matrixos.node'] === 'node2' && n.Status.State === 'ready'),
      90_000,
    );
    const back = await until(
      'the instance to start again',
      async () => {
        const r = await t.admin('POST', `/containers/${victim}/start`);
        return r.status === 200 ? r : undefined;
      },
      120_000,
    );
    expect(back.status).toBe(200);
  });

  it("gives each tenant a network of its own: another tenant's container is unreachable across nodes", async () => {
    const [a, b] = ['ann', 'cat'];
    expect(await nodeOf(a)).not.toBe(await nodeOf(b));
    const bEndpoint = (await driver.inspect(t.platform.store.get(b)!.engineId!))!.endpoint!;
    // What a's own code can do: open TCP connections (to b's gateway, and to the platform's
    // instance API by the host name in its environment; the port is this test platform's own,
    // which a restart above changed: production ones have a fixed port).
    const apiPort = new URL(t.platform.instanceApiUrl()!).port;
    const probe = `const net=require('net');
      const tryConnect=(host,port)=>new Promise(r=>{const s=net.connect({host,port,timeout:3000});
        s.on('connect',()=>{s.destroy();r('connected')});s.on('timeout',()=>{s.destroy();r('timeout')});
        s.on('error',e=>r(e.code))});
      const p=new URL(process.env.MATRIXOS_PLATFORM_URL);
      Promise.all([tryConnect('${bEndpoint.host}',${bEndpoint.port}),tryConnect(p.hostname,${apiPort})])
        .then(([other,platform])=>console.log(JSON.stringify({other,platform,platformHost:p.hostname})))`;
    const out = await execIn(a, ['node', '-e', probe]);
    const seen = JSON.parse(out.trim().split('\n').pop()!) as {
      other: string;
      platform: string;
      platformHost: string;
    };
    expect(seen.other).not.toBe('connected');
    expect(seen.platform).toBe('connected');
    expect(seen.platformHost).toBe(PLATFORM_ALIAS);
    // On a's network: a's task and the platform's container, nobody else.
    const svc = await manager.getService(t.platform.store.get(a)!.engineId!).inspect();
    const [target] = (svc.Spec.TaskTemplate.Networks as { Target: string }[]).map((n) => n.Target);
    const net = await manager.getNetwork(target!).inspect();
    expect(net.Name).toBe(`${platformId}-u-${a}`);
  });

  it('moves an instance of an earlier version off the shared network at the next start, with its data', async () => {
    const h = 'ann';
    const put = await call(h, { method: 'PUT', path: '/files/notes/moved.txt', body: 'kept' });
    expect(put.status).toBeLessThan(300);
    // What a platform before per-user networks made: the instance on one overlay shared by all.
    const shared = `${platformId}-overlay`;
    await manager.createNetwork({
      Name: shared,
      Driver: 'overlay',
      Attachable: true,
      Labels: { 'dev.matrixos.managed': '1', 'dev.matrixos.platform': platformId },
    });
    const id = t.platform.store.get(h)!.engineId!;
    const svc = (await manager.getService(id).inspect()) as {
      Version: { Index: number };
      Spec: { TaskTemplate: Record<string, unknown> };
    };
    await manager.getService(id).update({
      ...svc.Spec,
      TaskTemplate: { ...svc.Spec.TaskTemplate, Networks: [{ Target: shared }] },
      version: svc.Version.Index,
    });
    const others = [...users, 'dan'].filter((u) => u !== h);
    const before = others.map((u) => t.platform.store.get(u)!.engineId);
    await t.stop();
    t = await start();
    for (const u of [...users, 'dan']) t.track(u);
    // Only the one on the shared network was made again: the others kept their services.
    for (const id of before) expect((await manager.getService(id!).inspect()).ID).toBe(id);
    const r = await until('the instance back on its own network', async () => {
      const got = await call(h, { path: '/files/notes/moved.txt' });
      return got.status === 200 ? got : undefined;
    });
    expect(r.text).toBe('kept');
    const now = await manager.getService(t.platform.store.get(h)!.engineId!).inspect();
    const [target] = (now.Spec.TaskTemplate.Networks as { Target: string }[]).map((n) => n.Target);
    expect((await manager.getNetwork(target!).inspect()).Name).toBe(`${platformId}-u-${h}`);
    const left = await manager.listNetworks({ filters: { name: [shared] } });
    expect(left.filter((n) => n.Name === shared)).toEqual([]);
  });

  it('reconciles: removes a service of ours with no row, and keeps its volume', async () => {
    const image = t.platform.store.get('ann')!.image;
    await driver.create({
      handle: 'eve',
      volume: 'eve_orphan1',
      image,
      env: {},
      limits: t.config.instance.limits,
    });
    const report = await t.platform.orchestrator.reconcile();
    expect(report.removedOrphans).toContain('eve');
    expect(await driver.list({ handle: 'eve' })).toEqual([]);
    expect(await driver.hasVolume('eve_orphan1')).toBe(true);
    // Data with no instance: its handle is reserved, never handed to a stranger.
    expect(report.reserved).toContain('eve');
  });
});
