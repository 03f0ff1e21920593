import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@matrixos/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAppStore } from '../apps/store.ts';
import { createEventBus } from '../events/bus.ts';
import { READ_LIMIT_BYTES } from './files.ts';
import { MEMORY_LIMIT_BYTES } from './memory.ts';
import { createToolbox, type Toolbox } from './toolbox.ts';

let home: string;
let tools: Toolbox;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'matrixos-tools-'));
  await mkdir(join(home, '.matrixos'));
  await writeFile(join(home, '.matrixos/auth-token'), 'mxi_secret-token-0123456789');
  const bus = createEventBus();
  const apps = createAppStore({ home, bus, maxFileBytes: 1024 * 1024 });
  tools = createToolbox({
    home,
    maxFileBytes: 1024 * 1024,
    bus,
    apps,
    log: createLogger('tools-test', 'silent'),
  });
});
afterEach(() => rm(home, { recursive: true, force: true }));

describe('the kernel tools', () => {
  it('describe themselves to the model with JSON Schemas', () => {
    const write = tools.definitions.find((t) => t.name === 'write_file')!;
    expect(write.input_schema).toMatchObject({
      type: 'object',
      properties: { path: { type: 'string' }, content: { type: 'string' } },
      required: ['path', 'content'],
      additionalProperties: false,
    });
    expect(JSON.stringify(tools.definitions)).not.toContain('$schema');
  });

  it('write, read and list within the home, taking ~/ and ./ as the home', async () => {
    expect(await tools.run('write_file', { path: '~/notes/a.md', content: 'hello' })).toMatchObject({
      ok: true,
    });
    expect(await readFile(join(home, 'notes/a.md'), 'utf8')).toBe('hello');
    expect(await tools.run('read_file', { path: './notes/a.md' })).toMatchObject({
      ok: true,
      content: 'hello',
    });
    const listing = await tools.run('list_directory', {});
    expect(listing.content).toBe('notes/');
    expect(listing.content).not.toContain('.matrixos');
    expect((await tools.run('list_directory', { path: 'notes' })).content).toBe('a.md (5 B)');
  });

  it('refuse binary files, and cut long ones', async () => {
    await writeFile(join(home, 'photo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]));
    expect(await tools.run('read_file', { path: 'photo.png' })).toMatchObject({
      ok: false,
      content: expect.stringMatching(/binary file/),
    });
    await writeFile(join(home, 'big.txt'), 'x'.repeat(READ_LIMIT_BYTES + 10));
    const big = await tools.run('read_file', { path: 'big.txt' });
    expect(big.ok).toBe(true);
    expect(big.content).toMatch(/\[cut: only the first 262\.1 kB of 262\.2 kB are shown\]$/);
  });

  it('never reach outside the home, even through a symlink', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'matrixos-outside-'));
    await writeFile(join(outside, 'secret.txt'), 'SECRET');
    await symlink(outside, join(home, 'link'));
    await symlink(join(home, '.matrixos'), join(home, 'private-link'));
    try {
      for (const [name, input] of [
        ['read_file', { path: '/etc/passwd' }],
        ['read_file', { path: '../etc/passwd' }],
        ['read_file', { path: 'link/secret.txt' }],
        ['read_file', { path: 'private-link/auth-token' }],
        ['read_file', { path: '.matrixos/auth-token' }],
        ['list_directory', { path: 'link' }],
        ['list_directory', { path: '.matrixos' }],
        ['write_file', { path: 'link/x.txt', content: 'x' }],
        ['write_file', { path: 'private-link/auth-token', content: 'x' }],
        ['write_file', { path: 'a\u0000b', content: 'x' }],
        ['create_app', { name: '../escape', title: 'x', html: 'x' }],
      ] as const) {
        const outcome = await tools.run(name, input);
        expect(outcome.ok, `${name} ${JSON.stringify(input)}`).toBe(false);
        expect(outcome.content).not.toMatch(/SECRET|mxi_secret|root:/);
      }
      expect(await readFile(join(home, '.matrixos/auth-token'), 'utf8')).toBe('mxi_secret-token-0123456789');
      expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('SECRET');
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('answer bad input and unknown tools as errors the model can read', async () => {
    expect(await tools.run('write_file', { path: 'a.txt' })).toMatchObject({
      ok: false,
      content: expect.stringMatching(/^Error: invalid input for write_file: content: /),
    });
    expect(await tools.run('format_disk', {})).toMatchObject({
      ok: false,
      content: 'Error: there is no tool named format_disk',
    });
    expect(await tools.run('create_app', { name: 'Todo App', title: 'x', html: 'x' })).toMatchObject({
      ok: false,
    });
  });

  it('create and update an app with its manifest', async () => {
    const created = await tools.run('create_app', { name: 'todo', title: 'Todo', html: '<h1>1</h1>' });
    expect(created).toMatchObject({
      ok: true,
      summary: 'Created app “Todo”',
      app: { name: 'todo', url: 'apps/todo/' },
    });
    const first = JSON.parse(await readFile(join(home, 'apps/todo/app.json'), 'utf8'));
    const updated = await tools.run('create_app', { name: 'todo', title: 'Todo list', html: '<h1>2</h1>' });
    expect(updated.summary).toBe('Updated app “Todo list”');
    expect(await readFile(join(home, 'apps/todo/index.html'), 'utf8')).toBe('<h1>2</h1>');
    const second = JSON.parse(await readFile(join(home, 'apps/todo/app.json'), 'utf8'));
    expect(second).toMatchObject({ title: 'Todo list', createdAt: first.createdAt });
  });

  it('remember: appends dated lines, one at a time, up to a limit', async () => {
    await Promise.all(['one', 'two', 'three'].map((note) => tools.run('remember', { note })));
    const memory = await readFile(join(home, 'system/memory.md'), 'utf8');
    expect(memory.match(/^- \d{4}-\d\d-\d\d: (one|two|three)$/gm)).toHaveLength(3);
    expect(await tools.run('remember', { note: 'two\nlines' })).toMatchObject({ ok: false });
    await writeFile(join(home, 'system/memory.md'), 'x'.repeat(MEMORY_LIMIT_BYTES));
    expect(await tools.run('remember', { note: 'one more' })).toMatchObject({
      ok: false,
      content: expect.stringMatching(/memory is full/),
    });
  });
});
