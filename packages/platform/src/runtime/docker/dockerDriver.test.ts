import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@matrixos/shared';
import { dockerAvailable } from '@matrixos/shared/testing';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Endpoint,
  INSTANCE_HOME,
  type InstanceSpec,
  LABEL_HANDLE,
  LABEL_MANAGED,
  LABEL_PLATFORM,
  type RuntimeDriver,
} from '../driver.ts';
import { buildFixtureImage } from '../fixtures/fixtureImage.ts';
import { waitReady } from '../waitReady.ts';
import { createDockerDriver } from './dockerDriver.ts';

const docker = new Docker();
const log = createLogger('docker-driver-test');
// Unique per run: parallel test files and earlier runs never see each other's objects.
const platformId = `rtd-${randomBytes(3).toString('hex')}`;
const otherPlatformId = `rto-${randomBytes(3).toString('hex')}`;
const network = `${platformId}-net`;
const limits = { memoryBytes: 256 * 1024 * 1024, nanoCpus: 500_000_000, pids: 64 };
const strays: string[] = [];

function get(endpoint: Endpoint, path: string, timeoutMs = 3000): Promise<Response> {
  return fetch(`http://${endpoint.host}:${endpoint.port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
}

async function probe(endpoint: Endpoint, query = ''): Promise<Record<string, unknown>> {
  const res = await get(endpoint, `/probe${query}`, 20_000);
  return (await res.json()) as Record<string, unknown>;
}

describe.skipIf(!(await dockerAvailable()))('docker runtime driver (real engine)', () => {
  let image: string;
  let driver: RuntimeDriver;
  const spec = (handle: string): InstanceSpec => ({
    handle,
    volume: handle,
    image,
    env: { MATRIX_HANDLE: handle },
    limits,
  });

  async function running(handle: string) {
    const created = await driver.create(spec(handle));
    const started = await driver.start(created.id);
    await waitReady(started.endpoint!, { timeoutMs: 20_000 });
    return started;
  }

  beforeAll(async () => {
    image = await buildFixtureImage(docker);
    driver = createDockerDriver({ docker, platformId, network, log, stopGraceMs: 3000 });
    await driver.init();
  });

  afterAll(async () => {
    // Everything this file made, found by label or name; containers first, as they hold the rest.
    // Each removal runs even if another fails, so a broken run still leaves nothing behind.
    const filters = [platformId, otherPlatformId].map((id) => ({ label: [`${LABEL_PLATFORM}=${id}`] }));
    const containers = await Promise.all(
      filters.map((f) => docker.listContainers({ all: true, filters: f })),
    );
    const ids = [...containers.flat().map((c) => c.Id), ...strays];
    await Promise.allSettled(ids.map((id) => docker.getContainer(id).remove({ force: true, v: true })));
    const volumes = await Promise.all(filters.map((f) => docker.listVolumes({ filters: f })));
    await Promise.allSettled(
      volumes.flatMap((r) => r.Volumes ?? []).map((v) => docker.getVolume(v.Name).remove()),
    );
    await Promise.allSettled([network, `${platformId}-open`].map((n) => docker.getNetwork(n).remove()));
  });

  it('runs an instance through start, pause, resume, stop and re-creation, and the data stays', async () => {
    expect(await driver.ensureVolume('alice')).toEqual({ created: true });
    const created = await driver.create(spec('alice'));
    expect(created).toMatchObject({ handle: 'alice', state: 'stopped', endpoint: null });
    await expect(driver.create(spec('alice'))).rejects.toMatchObject({ code: 'conflict' });

    const started = await driver.start(created.id);
    expect(started.state).toBe('running');
    expect(started.endpoint).toEqual({ host: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/), port: 4000 });
    const ep = started.endpoint!;
    await waitReady(ep, { timeoutMs: 20_000 });
    expect(
      (await fetch(`http://${ep.host}:${ep.port}/files/note.txt`, { method: 'PUT', body: 'hello' })).status,
    ).toBe(204);

    await driver.pause(created.id);
    expect(await driver.inspect(created.id)).toMatchObject({ state: 'paused', endpoint: ep });
    await expect(get(ep, '/health', 300)).rejects.toThrow();
    expect(await driver.resume(created.id)).toMatchObject({ state: 'running', endpoint: ep });
    expect(await (await get(ep, '/files/note.txt')).text()).toBe('hello');

    await driver.stop(created.id);
    expect(await driver.inspect(created.id)).toMatchObject({ state: 'stopped', endpoint: null });
    const restarted = await driver.start(created.id);
    await waitReady(restarted.endpoint!, { timeoutMs: 20_000 });
    expect(await (await get(restarted.endpoint!, '/files/note.txt')).text()).toBe('hello');

    await driver.remove(created.id);
    expect(await driver.inspect(created.id)).toBeNull();
    expect(await driver.hasVolume('alice')).toBe(true);
    await driver.remove(created.id); // already gone: fine

    const again = await driver.create(spec('alice'));
    expect(again.id).not.toBe(created.id);
    expect(await driver.ensureVolume('alice')).toEqual({ created: false });
    const up = await driver.start(again.id);
    await waitReady(up.endpoint!, { timeoutMs: 20_000 });
    expect(await (await get(up.endpoint!, '/files/note.txt')).text()).toBe('hello');
    await driver.remove(again.id);
  });

  it('creates containers with every hardening setting of DESIGN §5', async () => {
    const inst = await driver.create(spec('hardy'));
    const info = await docker.getContainer(inst.id).inspect();
    const hc = info.HostConfig;
    expect(info.Config.User).toBe('1000:1000');
    expect(hc.Privileged).toBe(false);
    expect(hc.CapDrop).toEqual(['ALL']);
    expect(hc.CapAdd ?? []).toEqual([]);
    expect(hc.SecurityOpt).toContain('no-new-privileges');
    expect(hc.ReadonlyRootfs).toBe(true);
    expect(Object.keys(hc.Tmpfs ?? {})).toEqual(['/tmp']);
    expect(hc.Memory).toBe(limits.memoryBytes);
    expect(hc.MemorySwap).toBe(limits.memoryBytes);
    expect(hc.NanoCpus).toBe(limits.nanoCpus);
    expect(hc.PidsLimit).toBe(limits.pids);
    expect(hc.Binds ?? []).toEqual([]);
    expect(hc.PortBindings ?? {}).toEqual({});
    expect(hc.PublishAllPorts).toBe(false);
    // Joined by id (names can be briefly ambiguous), on the isolated network and nothing else.
    expect(hc.NetworkMode).toBe((await docker.getNetwork(network).inspect()).Id);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([network]);
    expect(hc.RestartPolicy).toMatchObject({ Name: 'on-failure', MaximumRetryCount: 3 });
    expect(hc.LogConfig).toMatchObject({ Type: 'json-file', Config: { 'max-size': '5m', 'max-file': '2' } });
    expect(info.Mounts).toEqual([
      expect.objectContaining({
        Type: 'volume',
        Name: `${platformId}-home-hardy`,
        Destination: INSTANCE_HOME,
        RW: true,
      }),
    ]);
    expect(JSON.stringify(info)).not.toContain('docker.sock');
    expect(info.Config.Labels).toMatchObject({
      [LABEL_MANAGED]: '1',
      [LABEL_PLATFORM]: platformId,
      [LABEL_HANDLE]: 'hardy',
    });
    const volume = await docker.getVolume(`${platformId}-home-hardy`).inspect();
    expect(volume.Labels).toMatchObject({ [LABEL_PLATFORM]: platformId, [LABEL_HANDLE]: 'hardy' });

    // From inside, as a hostile tenant: who am I, what may I write, how many processes may I start?
    const { endpoint } = await driver.start(inst.id);
    await waitReady(endpoint!, { timeoutMs: 20_000 });
    const seen = await probe(endpoint!, '?spawn=100');
    expect(seen).toMatchObject({
      uid: 1000,
      capEff: '0000000000000000',
      capBnd: '0000000000000000',
      noNewPrivs: '1',
      imageHomeWritable: false,
      tmpWritable: true,
      dockerSocket: false,
    });
    expect(seen.spawned).toBeLessThan(limits.pids);
    await driver.remove(inst.id);
  });

  it('keeps one tenant from connecting to another, while the host reaches both', async () => {
    const a = await running('icca');
    const b = await running('iccb');
    // The host reaches both (waitReady above did); an instance reaches services on hostAddress()...
    const hostServer: Server = createServer((_req, res) => res.end('host'));
    await new Promise<void>((resolve) => hostServer.listen(0, driver.hostAddress(), resolve));
    const hostPort = (hostServer.address() as AddressInfo).port;
    try {
      expect((await probe(a.endpoint!, `?connect=${driver.hostAddress()}:${hostPort}`)).connect).toBe(
        'connected',
      );
      // ...but not the other tenant's gateway, in either direction.
      expect((await probe(a.endpoint!, `?connect=${b.endpoint!.host}:4000`)).connect).not.toBe('connected');
      expect((await probe(b.endpoint!, `?connect=${a.endpoint!.host}:4000`)).connect).not.toBe('connected');
    } finally {
      hostServer.close();
    }
    await driver.remove(a.id);
    await driver.remove(b.id);
  });

  it('refuses at init a pre-existing network that lets containers reach each other', async () => {
    const open = `${platformId}-open`;
    await docker.createNetwork({ Name: open, Driver: 'bridge', Labels: { [LABEL_PLATFORM]: platformId } });
    const unsafe = createDockerDriver({ docker, platformId, network: open, log });
    await expect(unsafe.init()).rejects.toThrow(/lets containers reach each other.*enable_icc=false/s);
    const net = await docker.getNetwork(open).inspect();
    expect(net.Options?.['com.docker.network.bridge.enable_icc']).toBeUndefined();
  });

  it('converges when platforms starting at once made two networks of one name', async () => {
    const name = `${platformId}-twin`;
    const labels = { [LABEL_MANAGED]: '1', [LABEL_PLATFORM]: platformId };
    const Options = { 'com.docker.network.bridge.enable_icc': 'false' };
    // The engine's duplicate check is not atomic; make the race's outcome directly.
    await docker.createNetwork({ Name: name, Driver: 'bridge', Options, Labels: labels });
    await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      Options,
      Labels: labels,
      CheckDuplicate: false,
    });
    try {
      const a = createDockerDriver({ docker, platformId, network: name, log });
      const b = createDockerDriver({ docker, platformId, network: name, log });
      await Promise.all([a.init(), b.init()]);
      const left = (await docker.listNetworks({ filters: { name: [name] } })).filter((n) => n.Name === name);
      expect(left).toHaveLength(1);
      expect(a.hostAddress()).toBe(b.hostAddress());
    } finally {
      for (const n of await docker.listNetworks({ filters: { name: [name] } }))
        await docker.getNetwork(n.Id).remove();
    }
  });

  it('says which image is missing instead of failing obscurely', async () => {
    await expect(driver.create({ ...spec('noimage'), image: 'matrixos/absent:nope' })).rejects.toThrow(
      /image matrixos\/absent:nope is not on the engine/,
    );
    expect((await driver.list()).map((i) => i.handle)).not.toContain('noimage');
  });

  it('lists, inspects and touches only containers of its own platform', async () => {
    const other = createDockerDriver({ docker, platformId: otherPlatformId, network, log });
    await other.init();
    const theirs = await other.create(spec('bob'));
    const stray = await docker.createContainer({ Image: image, name: `${platformId}-stray` });
    strays.push(stray.id);
    const mine = await driver.create(spec('dave'));

    const ids = (await driver.list()).map((i) => i.id);
    expect(ids).toContain(mine.id);
    expect(ids).not.toContain(theirs.id);
    expect(ids).not.toContain(stray.id);
    expect(await driver.inspect(theirs.id)).toBeNull();
    expect(await driver.inspect(stray.id)).toBeNull();
    await expect(driver.start(stray.id)).rejects.toMatchObject({ code: 'not_found' });
    await driver.remove(theirs.id);
    expect((await docker.getContainer(theirs.id).inspect()).Id).toBe(theirs.id);
    expect((await other.list()).map((i) => i.id)).toEqual([theirs.id]);

    await other.remove(theirs.id);
    await other.removeVolume('bob');
    await driver.remove(mine.id);
  });

  it('stops a paused instance, and only removeVolume deletes the data', async () => {
    const inst = await running('pauser');
    await driver.pause(inst.id);
    const t0 = Date.now();
    await driver.stop(inst.id);
    expect(Date.now() - t0).toBeLessThan(3000); // thawed and stopped on SIGTERM, not killed at the grace
    expect(await driver.inspect(inst.id)).toMatchObject({ state: 'stopped' });

    await expect(driver.removeVolume('pauser')).rejects.toMatchObject({ code: 'conflict' });
    await driver.remove(inst.id);
    expect(await driver.hasVolume('pauser')).toBe(true);
    await driver.removeVolume('pauser');
    expect(await driver.hasVolume('pauser')).toBe(false);
  });

  it('reports memory, CPU and the output of a running instance', async () => {
    const inst = await running('meter');
    const stats = await driver.stats(inst.id);
    expect(stats!.memoryBytes).toBeGreaterThan(1024 * 1024);
    expect(stats!.memoryBytes).toBeLessThan(limits.memoryBytes);
    expect(stats!.memoryLimitBytes).toBe(limits.memoryBytes);
    expect(stats!.cpuPercent).toBeGreaterThanOrEqual(0);
    const logs = await driver.logs(inst.id, 10);
    expect(logs).toContain('fixture listening on 0.0.0.0:4000');
    expect(logs).toContain('fixture stderr line');
    await driver.stop(inst.id);
    expect(await driver.stats(inst.id)).toBeNull();
    await driver.remove(inst.id);
  });

  it('looks one handle up by its label, not by listing every container', async () => {
    const asked: unknown[] = [];
    const counting = new Docker();
    const list = counting.listContainers.bind(counting);
    counting.listContainers = ((opts: Docker.ContainerListOptions) => {
      asked.push(opts.filters);
      return list(opts);
    }) as typeof counting.listContainers;
    const d = createDockerDriver({ docker: counting, platformId, network, log });
    await d.init();
    const [x, y] = [await d.create(spec('lookx')), await d.create(spec('looky'))];
    expect((await d.list({ handle: 'lookx' })).map((i) => i.id)).toEqual([x.id]);
    expect(asked.at(-1)).toEqual({
      label: [`${LABEL_MANAGED}=1`, `${LABEL_PLATFORM}=${platformId}`, `${LABEL_HANDLE}=lookx`],
    });
    await d.remove(x.id);
    await d.remove(y.id);
  });

  it('samples every awake instance in one pass, CPU since the previous pass', async () => {
    const a = await running('passa');
    const b = await running('passb');
    const asleep = await driver.create(spec('passc'));
    const first = await driver.statsAll!();
    expect([...first.keys()].sort()).toEqual([a.id, b.id].sort());
    expect(first.get(a.id)!.memoryBytes).toBeGreaterThan(1024 * 1024);
    expect(first.get(a.id)!.memoryLimitBytes).toBe(limits.memoryBytes);
    await driver.pause(b.id);
    const second = await driver.statsAll!();
    expect([...second.keys()].sort()).toEqual([a.id, b.id].sort()); // a paused one still holds memory
    expect(second.get(a.id)!.cpuPercent).toBeGreaterThanOrEqual(0);
    for (const id of [a.id, b.id, asleep.id]) await driver.remove(id);
  });

  it('keeps its view of every container from the event stream: a full list asks the engine once', async () => {
    let listings = 0;
    const counting = new Docker();
    const list = counting.listContainers.bind(counting);
    counting.listContainers = ((opts: Docker.ContainerListOptions) => {
      if (!JSON.stringify(opts.filters).includes(LABEL_HANDLE)) listings++;
      return list(opts);
    }) as typeof counting.listContainers;
    const d = createDockerDriver({ docker: counting, platformId, network, log, stopGraceMs: 3000 });
    await d.init();
    const events: string[] = [];
    const unwatch = d.watch((e) => events.push(`${e.handle} ${e.state}`));
    try {
      // The stream is up once the engine answered the events request: the first listing primes.
      let before = -1;
      for (let i = 0; i < 100 && listings !== before; i++) {
        before = listings;
        await d.list();
        await new Promise((r) => setTimeout(r, 50));
      }
      const primed = listings;
      const inst = await d.create(spec('viewer'));
      expect((await d.list()).find((i) => i.id === inst.id)).toMatchObject({ state: 'stopped' });
      // Started behind the driver's back: the event brings it into the view, without a listing.
      await docker.getContainer(inst.id).start();
      for (let i = 0; i < 100 && !events.includes('viewer running'); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect((await d.list()).find((i) => i.id === inst.id)).toMatchObject({ state: 'running' });
      await d.remove(inst.id);
      expect((await d.list()).find((i) => i.id === inst.id)).toBeUndefined();
      expect(listings).toBe(primed);
    } finally {
      unwatch();
    }
    // Not followed any more: a listing asks the engine again.
    await d.list();
    expect(listings).toBeGreaterThan(1);
  });
});
