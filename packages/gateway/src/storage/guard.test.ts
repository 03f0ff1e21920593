import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@matrixos/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, TEMPLATE_DIR, type TestGateway } from '../../test/harness.ts';
import { createAppStore } from '../apps/store.ts';
import { seedHome } from '../home/seed.ts';
import { createToolbox } from '../tools/toolbox.ts';
import { createStorageGuard } from './guard.ts';

const MiB = 1024 * 1024;

describe('createStorageGuard', () => {
  const guard = (availableBytes: number, reserveBytes: number | 'auto', totalBytes = 40 * MiB) =>
    createStorageGuard({
      home: '/nowhere',
      reserveBytes,
      statfs: async () => ({ bavail: availableBytes / 4096, bsize: 4096, blocks: totalBytes / 4096 }),
    });

  it.each([
    ['room to spare', 10 * MiB, 2 * MiB, 7 * MiB, 'ok'],
    ['exactly the reserve left after', 10 * MiB, 2 * MiB, 8 * MiB, 'ok'],
    ['would eat into the reserve', 10 * MiB, 2 * MiB, 9 * MiB, 507],
    ['already inside the reserve', 1 * MiB, 2 * MiB, 0, 507],
    ['no reserve configured', 0, 0, 5 * MiB, 'ok'],
    // Unset: 64 MiB, but a tenth of a small filesystem (the guard below is given 40 MiB in all).
    ['default reserve on a small disk: room', 10 * MiB, 'auto', 5 * MiB, 'ok'],
    ['default reserve on a small disk: full', 10 * MiB, 'auto', 7 * MiB, 507],
    ['default reserve on a large disk is 64 MiB', 100 * MiB, 'auto', 50 * MiB, 507, 10_240 * MiB],
  ] as const)('%s', async (_label, available, reserve, incoming, expected, total?: number) => {
    const result = await guard(available, reserve, total)
      .ensureRoom(incoming)
      .then(
        () => 'ok' as const,
        (err: { status: number; code: string; message: string }) => {
          expect(err.code).toBe('insufficient_storage');
          expect(err.message).toMatch(/almost full .* delete some files first/);
          return err.status;
        },
      );
    expect(result).toBe(expected);
  });
});

// A real small filesystem for the home: an 8 MiB tmpfs (the tests run as root, as in CI).
describe('a home on a small filesystem', () => {
  let mountpoint: string;
  let gw: TestGateway;
  const reserve = 2 * MiB;
  const available = async () => {
    const fs = await statfs(mountpoint);
    return fs.bavail * fs.bsize;
  };

  beforeAll(async () => {
    mountpoint = await mkdtemp(join(tmpdir(), 'matrixos-small-home-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', mountpoint]);
    await seedHome(mountpoint, TEMPLATE_DIR);
    gw = await startGateway({ maxFileBytes: MiB, storageReserveBytes: reserve }, { home: mountpoint });
  });
  afterAll(async () => {
    await gw?.close();
    execFileSync('umount', [mountpoint]);
    await rm(mountpoint, { recursive: true, force: true });
  });

  it('answers 507 with a clear message before the disk is full, and writes again after a cleanup', async () => {
    const statuses: number[] = [];
    let refusal: { error: { code: string; message: string } } | undefined;
    for (let i = 0; i < 10 && !refusal; i++) {
      const res = await gw.api(`/files/big/${i}.bin`, { method: 'PUT', body: Buffer.alloc(MiB, i) });
      statuses.push(res.status);
      if (res.status !== 201) refusal = await res.json();
    }
    expect(statuses.at(-1)).toBe(507);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(4);
    expect(refusal?.error.code).toBe('insufficient_storage');
    expect(refusal?.error.message).toMatch(
      /^the home is almost full \(.* free, .* kept in reserve\): delete/,
    );
    // The reserve is still there: the refusal came before the filesystem was full.
    expect(await available()).toBeGreaterThanOrEqual(reserve);
    // What is stored stays readable, and the instance's own state can still be written.
    expect((await gw.api('/files/big/0.bin')).status).toBe(200);
    expect((await gw.api('/files/big/0.bin', { method: 'DELETE' })).status).toBe(204);
    expect((await gw.api('/files/big/1.bin', { method: 'DELETE' })).status).toBe(204);
    expect((await gw.api('/files/after-cleanup.txt', { method: 'PUT', body: 'room again' })).status).toBe(
      201,
    );
  });

  it('refuses messages from others with 507 inside the reserve, and stores none of them', async () => {
    // The same small home, with a reserve larger than the whole filesystem.
    const strict = await startGateway({ storageReserveBytes: 64 * MiB }, { home: mountpoint });
    try {
      const res = await strict.api('/api/message', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'hello from bob', from: 'bob' }),
      });
      expect(res.status).toBe(507);
      expect((await res.json()).error.code).toBe('insufficient_storage');
      expect((await (await strict.api('/api/messages')).json()).messages).toEqual([]);
    } finally {
      await strict.close();
    }
  });

  it('gives the AI a clear tool error when the home is full, for files, apps and memory', async () => {
    const bus = gw.gateway.bus;
    const storage = createStorageGuard({ home: mountpoint, reserveBytes: (await available()) + 1 });
    const tools = createToolbox({
      home: mountpoint,
      maxFileBytes: MiB,
      bus,
      apps: createAppStore({ home: mountpoint, bus, maxFileBytes: MiB, storage }),
      log: createLogger('test', 'silent'),
      storage,
    });
    for (const [name, input] of [
      ['write_file', { path: 'notes/a.md', content: 'hello' }],
      ['create_app', { name: 'todo', title: 'Todo', html: '<!doctype html><p>hi</p>' }],
      ['remember', { note: 'likes tea' }],
    ] as const) {
      const outcome = await tools.run(name, input);
      expect(outcome.ok, name).toBe(false);
      expect(outcome.content).toMatch(/^Error: the home is almost full .* delete some files first$/);
    }
    const res = await gw.api('/files/apps/');
    expect((await res.json()).entries).toEqual([expect.objectContaining({ name: 'README.md' })]);
  });
});
