import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '@matrixos/shared';
import { dockerAvailable } from '@matrixos/shared/testing';
import Docker from 'dockerode';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRuntime } from './index.ts';

const log = createLogger('runtime-test');
const engine = await dockerAvailable();
const noEngine = new Docker({ socketPath: '/nonexistent/docker.sock' });
let dataDir: string;
afterEach(() => {
  vi.restoreAllMocks();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});
const base = () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'rt-index-'));
  return { dataDir, platformId: 'rti', log };
};

describe('createRuntime', () => {
  it('RUNTIME=process gives the process driver', async () => {
    const driver = await createRuntime({ ...base(), runtime: 'process', docker: noEngine });
    expect(driver.kind).toBe('process');
    expect(driver.isolated).toBe(false);
  });

  it('RUNTIME=auto falls back to processes, with a warning, when no engine answers', async () => {
    const warn = vi.spyOn(log, 'warn');
    const driver = await createRuntime({ ...base(), runtime: 'auto', docker: noEngine });
    expect(driver.kind).toBe('process');
    expect(warn).toHaveBeenCalledWith(expect.anything(), expect.stringContaining('no Docker engine answers'));
  });

  it('RUNTIME=docker without an engine fails at init, saying what to do', async () => {
    const driver = await createRuntime({ ...base(), runtime: 'docker', docker: noEngine });
    expect(driver.kind).toBe('docker');
    await expect(driver.init()).rejects.toThrow(/Docker engine does not answer.*RUNTIME=process/);
  });

  it.skipIf(!engine)('RUNTIME=auto picks docker when the engine answers', async () => {
    const driver = await createRuntime({ ...base(), runtime: 'auto' });
    expect(driver.kind).toBe('docker');
    expect(driver.isolated).toBe(true);
  });
});
