import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawRequest, startGateway, type TestGateway } from '../../test/harness.ts';
import { APP_CSP } from './routes.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await startGateway();
  await mkdir(join(gw.home, 'apps/todo'), { recursive: true });
  await writeFile(join(gw.home, 'apps/todo/index.html'), '<!doctype html><h1>Todo</h1>');
  await writeFile(
    join(gw.home, 'apps/todo/app.json'),
    JSON.stringify({ title: 'Todo list', description: 'Things' }),
  );
  await writeFile(join(gw.home, 'apps/todo/logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  await writeFile(join(gw.home, 'apps/clock.html'), '<p>clock</p>');
  await mkdir(join(gw.home, 'apps/empty-folder'));
  await writeFile(join(gw.home, 'apps/Bad Name.html'), 'x');
});
afterEach(() => gw.close());

describe('apps', () => {
  it('lists folder apps with their manifest and single-file apps under their name', async () => {
    const { apps } = await (await gw.api('/api/apps')).json();
    expect(apps).toEqual([
      { name: 'clock', title: 'clock', description: '', url: 'apps/clock/', updatedAt: expect.any(String) },
      {
        name: 'todo',
        title: 'Todo list',
        description: 'Things',
        url: 'apps/todo/',
        updatedAt: expect.any(String),
      },
    ]);
  });

  it('serves an app with a sandboxing CSP, nosniff, and no referrer', async () => {
    const res = await gw.api('/apps/todo/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toBe('<!doctype html><h1>Todo</h1>');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toBe(APP_CSP);
    expect(csp).toMatch(/(^|; )sandbox allow-scripts allow-forms($|;)/);
    expect(csp).not.toMatch(/allow-same-origin/);
    expect(csp).toMatch(/connect-src 'none'/);
    expect(csp).toMatch(/frame-ancestors 'self'/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');

    const asset = await gw.api('/apps/todo/logo.svg');
    expect(asset.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(asset.headers.get('content-security-policy')).toBe(APP_CSP);
    expect(await (await gw.api('/apps/clock/')).text()).toBe('<p>clock</p>');
  });

  it('redirects /apps/<name> to the folder URL, relatively', async () => {
    const res = await gw.api('/apps/todo', { redirect: 'manual' });
    expect(res.status).toBe(308);
    expect(res.headers.get('location')).toBe('todo/');
  });

  it('needs the owner, and serves nothing outside the app', async () => {
    expect((await fetch(`${gw.url}/apps/todo/`)).status).toBe(401);
    for (const path of [
      '/apps/todo/../../.matrixos/auth-token',
      '/apps/todo/%2e%2e/%2e%2e/.matrixos/auth-token',
      '/apps/..%2f.matrixos/auth-token',
      '/apps/empty-folder/',
      '/apps/nope/',
      '/apps/Bad%20Name/',
    ]) {
      const res = await rawRequest(gw, 'GET', path);
      expect(res.status, path).toBe(404);
    }
  });
});
