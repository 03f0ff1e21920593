import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@matrixos/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Endpoint, InstanceSpec, RuntimeDriver } from '../driver.ts';
import { waitReady } from '../waitReady.ts';
import { createProcessDriver, type ProcessDriverOptions } from './processDriver.ts';
import { readProcStat } from './procfs.ts';

const fixture = fileURLToPath(new URL('../fixtures/instanceServer.ts', import.meta.url));
const command = [process.execPath, fixture];
const limits = { memoryBytes: 256 * 1024 * 1024, nanoCpus: 500_000_000, pids: 64 };
const platformId = 'rtp';
const log = createLogger('process-driver-test');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  // Every step runs even if one fails, so a failing test leaves no process or directory behind.
  let failure: unknown;
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure) throw failure;
});

function setup(extra: Partial<ProcessDriverOptions> = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rt-process-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  return { dataDir, driver: makeDriver(dataDir, extra) };
}

/** A driver on `dataDir`; whatever it still runs at the end of the test is removed. */
function makeDriver(dataDir: string, extra: Partial<ProcessDriverOptions> = {}): RuntimeDriver {
  const driver = createProcessDriver({ dataDir, platformId, command, log, stopGraceMs: 2000, ...extra });
  cleanups.push(async () => {
    for (const inst of await driver.list()) await driver.remove(inst.id);
  });
  return driver;
}

const spec = (handle: string, env: Record<string, string> = {}): InstanceSpec => ({
  handle,
  volume: handle,
  image: 'unused',
  env: { MATRIX_HANDLE: handle, ...env },
  limits,
});

function get(ep: Endpoint, p: string, timeoutMs = 3000) {
  return fetch(`http://${ep.host}:${ep.port}${p}`, { signal: AbortSignal.timeout(timeoutMs) });
}

async function probe(ep: Endpoint): Promise<{ pid: number; envNames: string[] }> {
  return (await (await get(ep, '/probe')).json()) as { pid: number; envNames: string[] };
}

async function startReady(driver: RuntimeDriver, handle: string, env: Record<string, string> = {}) {
  const created = await driver.create(spec(handle, env));
  const started = await driver.start(created.id);
  await waitReady(started.endpoint!, { timeoutMs: 10_000 });
  return started;
}

const alive = (pid: number) => {
  const s = readProcStat(pid);
  return s !== null && s.state !== 'Z';
};

describe('process runtime driver', () => {
  it('runs an instance through start, stop and start again, its home surviving all of it', async () => {
    const { dataDir, driver } = setup();
    await driver.init();
    expect(driver.isolated).toBe(false);
    expect(driver.hostAddress()).toBe('127.0.0.1');
    expect(await driver.ensureVolume('alice')).toEqual({ created: true });
    expect(existsSync(path.join(dataDir, 'homes/alice'))).toBe(true);

    const created = await driver.create(spec('alice'));
    expect(created).toMatchObject({ handle: 'alice', state: 'stopped', endpoint: null });
    await expect(driver.create(spec('alice'))).rejects.toMatchObject({ code: 'conflict' });

    const started = await driver.start(created.id);
    expect(started).toMatchObject({ state: 'running', endpoint: { host: '127.0.0.1' } });
    const ep = started.endpoint!;
    await waitReady(ep, { timeoutMs: 10_000 });
    await fetch(`http://${ep.host}:${ep.port}/files/note.txt`, { method: 'PUT', body: 'hello' });
    expect(readFileSync(path.join(dataDir, 'homes/alice/note.txt'), 'utf8')).toBe('hello');
    const { pid } = await probe(ep);

    await driver.stop(created.id);
    expect(alive(pid)).toBe(false);
    expect(await driver.inspect(created.id)).toMatchObject({ state: 'stopped', endpoint: null });

    const again = await driver.start(created.id);
    await waitReady(again.endpoint!, { timeoutMs: 10_000 });
    expect(await (await get(again.endpoint!, '/files/note.txt')).text()).toBe('hello');

    await driver.remove(created.id);
    expect(await driver.inspect(created.id)).toBeNull();
    expect(await driver.hasVolume('alice')).toBe(true);
    await driver.removeVolume('alice');
    expect(await driver.hasVolume('alice')).toBe(false);
  });

  it('pause freezes the instance: requests hang until resume', async () => {
    const { driver } = setup();
    await driver.init();
    const inst = await startReady(driver, 'sleepy');
    await driver.pause(inst.id);
    expect(await driver.inspect(inst.id)).toMatchObject({ state: 'paused', endpoint: inst.endpoint });
    await expect(get(inst.endpoint!, '/health', 300)).rejects.toThrow();
    expect(await driver.resume(inst.id)).toMatchObject({ state: 'running' });
    expect((await get(inst.endpoint!, '/health')).status).toBe(200);

    // start on a paused instance thaws it too (the wake path need not care which it was)
    await driver.pause(inst.id);
    await driver.start(inst.id);
    expect((await get(inst.endpoint!, '/health')).status).toBe(200);
  });

  it('stops a paused instance at once, and kills one that ignores SIGTERM after the grace', async () => {
    const { driver } = setup();
    await driver.init();
    const polite = await startReady(driver, 'polite');
    await driver.pause(polite.id);
    let t0 = Date.now();
    await driver.stop(polite.id);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await driver.inspect(polite.id)).toMatchObject({ state: 'stopped' });

    const stubborn = await startReady(driver, 'stubborn', { FIXTURE_IGNORE_SIGTERM: '1' });
    const { pid } = await probe(stubborn.endpoint!);
    t0 = Date.now();
    await driver.stop(stubborn.id, 300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(alive(pid)).toBe(false);
    expect(await driver.logs(stubborn.id, 5)).toContain('ignoring SIGTERM');
  });

  it('adopts running instances after a platform restart', async () => {
    const { dataDir, driver: first } = setup();
    await first.init();
    const inst = await startReady(first, 'steady');
    const { pid } = await probe(inst.endpoint!);

    // The platform restarts: a new driver object on the same data dir, the old one forgotten.
    const second = makeDriver(dataDir);
    await second.init();
    expect(await second.list()).toEqual([
      { id: inst.id, handle: 'steady', state: 'running', endpoint: inst.endpoint },
    ]);
    expect((await second.stats(inst.id))!.memoryBytes).toBeGreaterThan(0);
    await second.pause(inst.id);
    expect(await second.inspect(inst.id)).toMatchObject({ state: 'paused' });
    await second.resume(inst.id);
    expect((await get(inst.endpoint!, '/health')).status).toBe(200);
    await second.stop(inst.id);
    expect(alive(pid)).toBe(false);
  });

  it('reads an instance whose process died as stopped, then starts it again', async () => {
    const { dataDir, driver: first } = setup();
    await first.init();
    const inst = await startReady(first, 'fragile');
    const { pid } = await probe(inst.endpoint!);
    process.kill(pid, 'SIGKILL');
    await vi.waitFor(() => expect(alive(pid)).toBe(false));

    const second = makeDriver(dataDir);
    await second.init();
    expect(await second.inspect(inst.id)).toMatchObject({ state: 'stopped', endpoint: null });
    expect(await first.inspect(inst.id)).toMatchObject({ state: 'stopped', endpoint: null });
    const back = await second.start(inst.id);
    await waitReady(back.endpoint!, { timeoutMs: 10_000 });
  });

  it('never adopts or signals a process that is not its own, even with a matching pid and start time', async () => {
    const { dataDir, driver: first } = setup();
    await first.init();
    const inst = await first.create(spec('victim'));
    // A foreign process in the pid slot the state file names (a recycled pid, or a forged file).
    const stranger: ChildProcess = spawn('sleep', ['30'], { stdio: 'ignore' });
    cleanups.push(() => {
      stranger.kill('SIGKILL');
    });
    const strangerPid = stranger.pid!;
    const stateFile = path.join(dataDir, `runtime-${platformId}.json`);
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    state.instances[0].proc = {
      pid: strangerPid,
      startTicks: readProcStat(strangerPid)!.startTicks,
      port: 1,
    };
    writeFileSync(stateFile, JSON.stringify(state));

    const second = makeDriver(dataDir);
    await second.init();
    expect(await second.inspect(inst.id)).toMatchObject({ state: 'stopped' });
    await second.stop(inst.id, 100);
    await second.remove(inst.id);
    expect(alive(strangerPid)).toBe(true);
  });

  it('gives an instance only its own environment, never the platform secrets', async () => {
    const { dataDir, driver } = setup();
    await driver.init();
    process.env.PLATFORM_ADMIN_TOKEN = 'admin-secret-of-the-platform';
    cleanups.push(() => {
      delete process.env.PLATFORM_ADMIN_TOKEN;
    });
    const inst = await startReady(driver, 'tenant', {
      MATRIX_AUTH_TOKEN: 'mine',
      PORT: '1',
      HOST: '0.0.0.0',
    });
    const { envNames } = await probe(inst.endpoint!);
    expect(envNames).not.toContain('PLATFORM_ADMIN_TOKEN');
    expect(envNames).toEqual(
      expect.arrayContaining(['MATRIX_AUTH_TOKEN', 'MATRIX_HANDLE', 'MATRIXOS_HOME', 'PORT']),
    );
    // The spec cannot move it off its loopback port.
    expect(inst.endpoint!.port).not.toBe(1);
    expect(await driver.logs(inst.id, 5)).toContain(`fixture listening on 127.0.0.1:${inst.endpoint!.port}`);
    expect(existsSync(path.join(dataDir, 'homes/tenant'))).toBe(true);
  });

  it('refuses handles and env names that would escape their place', async () => {
    const { dataDir, driver } = setup();
    await driver.init();
    await expect(driver.ensureVolume('../escape')).rejects.toMatchObject({ code: 'invalid' });
    await expect(driver.create(spec('../../etc'))).rejects.toMatchObject({ code: 'invalid' });
    await expect(driver.create(spec('bob', { 'A=B': 'x' }))).rejects.toMatchObject({ code: 'invalid' });
    expect(existsSync(path.join(dataDir, 'escape'))).toBe(false);
    expect(await driver.list()).toEqual([]);
  });

  it('reports memory, the spec limit and CPU, and the output of an instance', async () => {
    const { driver } = setup();
    await driver.init();
    const inst = await startReady(driver, 'meter');
    const stats = await driver.stats(inst.id);
    expect(stats!.memoryBytes).toBeGreaterThan(1024 * 1024);
    expect(stats!.memoryLimitBytes).toBe(limits.memoryBytes);
    expect(stats!.cpuPercent).toBeGreaterThanOrEqual(0);
    const logs = await driver.logs(inst.id, 10);
    expect(logs).toContain('fixture listening on 127.0.0.1');
    expect(logs).toContain('fixture stderr line');
    await driver.stop(inst.id);
    expect(await driver.stats(inst.id)).toBeNull();
  });

  it('keeps each log bounded while the instance writes', async () => {
    const { dataDir, driver } = setup({ logMaxBytes: 4096, logCheckIntervalMs: 50 });
    await driver.init();
    const inst = await startReady(driver, 'chatty');
    await get(inst.endpoint!, '/shout?lines=300'); // ~32 KB of output
    const file = path.join(dataDir, 'logs/chatty.log');
    await vi.waitFor(() => expect(statSync(file).size).toBeLessThanOrEqual(4096));
    expect(await driver.logs(inst.id, 1)).toMatch(/^shout 299 /);
  });

  it('warns loudly that instances are not isolated, and names a command that cannot start', async () => {
    const { driver } = setup({ command: ['/nonexistent/gateway'] });
    const warn = vi.spyOn(log, 'warn');
    await driver.init();
    expect(warn).toHaveBeenCalledWith(expect.anything(), expect.stringContaining('NO isolation'));
    warn.mockRestore();
    const inst = await driver.create(spec('nobody'));
    await expect(driver.start(inst.id)).rejects.toThrow(/cannot start instance nobody.*ENOENT/);
    expect(await driver.inspect(inst.id)).toMatchObject({ state: 'stopped' });
  });
});
