import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../../test/harness.ts';
import { VERSION } from '../version.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await startGateway({ handle: 'alice' });
});
afterEach(() => gw.close());

describe('GET /health', () => {
  it('reports status, handle, version, uptime and last activity without a token', async () => {
    const res = await fetch(`${gw.url}/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({
      status: 'ok',
      handle: 'alice',
      version: VERSION,
      uptime: expect.any(Number),
      lastActivity: expect.any(String),
    });
    expect(Number.isNaN(Date.parse(body.lastActivity))).toBe(false);
  });
});

describe('GET /api/system/info', () => {
  it('describes the instance: version, mode, node, channels, modules and disk usage', async () => {
    const info = await (await gw.api('/api/system/info')).json();
    expect(info).toMatchObject({
      version: VERSION,
      handle: 'alice',
      mode: 'single',
      node: process.version,
      channels: [
        { name: 'telegram', state: 'off', linked: false },
        { name: 'matrix', state: 'off', linked: false },
      ],
      modules: [],
      uptime: expect.any(Number),
    });
    expect(info.disk.home.bytes).toBeGreaterThan(0);
    expect(info.disk.filesystem.totalBytes).toBeGreaterThan(info.disk.filesystem.availableBytes);
  });

  it('lists the apps in apps/ as modules and the configured channels', async () => {
    await mkdir(join(gw.home, 'apps/notes'), { recursive: true });
    await writeFile(join(gw.home, 'apps/timer.html'), '<p>timer</p>');
    await writeFile(join(gw.home, 'apps/.hidden.html'), '');
    await writeFile(
      join(gw.home, 'system/config.json'),
      JSON.stringify({ channels: { telegram: { token: 'x' }, matrix: {}, email: { enabled: false } } }),
    );
    const info = await (await gw.api('/api/system/info')).json();
    expect(info.modules).toEqual([
      { name: 'notes', path: 'apps/notes' },
      { name: 'timer', path: 'apps/timer.html' },
    ]);
    expect(info.channels).toEqual([
      { name: 'telegram', state: 'off', linked: false },
      // Matrix is built in: off without the platform's MATRIX_* settings, whatever config.json says.
      { name: 'matrix', state: 'off', linked: false },
    ]);
  });

  it('still answers when the user broke system/config.json', async () => {
    await writeFile(join(gw.home, 'system/config.json'), '{ "channels": ');
    const res = await gw.api('/api/system/info');
    expect(res.status).toBe(200);
    expect((await res.json()).channels).toEqual([
      { name: 'telegram', state: 'off', linked: false },
      { name: 'matrix', state: 'off', linked: false },
    ]);
  });
});

describe('profiles', () => {
  it('serves system/profile.md and system/ai-profile.md as markdown', async () => {
    await writeFile(join(gw.home, 'system/profile.md'), '# Alice\nGardener.\n');
    const res = await gw.api('/api/profile');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(await res.text()).toBe('# Alice\nGardener.\n');
    const ai = await gw.api('/api/ai-profile');
    expect(await ai.text()).toMatch(/^# My AI/);
  });

  it('answers 404 when the profile was deleted', async () => {
    await gw.api('/files/system/ai-profile.md', { method: 'DELETE' });
    const res = await gw.api('/api/ai-profile');
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('profile_missing');
  });
});
