import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@matrixos/shared';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rawRequest, startGateway, type TestGateway, uploadInProgress } from '../../test/harness.ts';
import { createAppStore } from '../apps/store.ts';
import { createToolbox } from '../tools/toolbox.ts';

let gw: TestGateway;
beforeEach(async () => {
  gw = await startGateway({ maxFileBytes: 64 * 1024 });
});
afterEach(() => gw.close());

/** Everything in the home except the template-seeded state, to prove nothing was left behind. */
async function entriesOf(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).filter((p) => !p.startsWith('.matrixos')).sort();
}

describe('/files', () => {
  it('stores a file (201), replaces it (200) and serves its bytes with a content type', async () => {
    let res = await gw.api('/files/notes/today.md', { method: 'PUT', body: '# Today\n' });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ path: 'notes/today.md', size: 8 });
    expect(await readFile(join(gw.home, 'notes/today.md'), 'utf8')).toBe('# Today\n');

    res = await gw.api('/files/notes/today.md', { method: 'PUT', body: '# Today, again\n' });
    expect(res.status).toBe(200);

    res = await gw.api('/files/notes/today.md');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toBe('# Today, again\n');
  });

  it('round-trips binary content and names with spaces and unicode', async () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) % 256));
    const path = `/files/${encodeURIComponent('photos 2026')}/${encodeURIComponent('café ☕.png')}`;
    expect((await gw.api(path, { method: 'PUT', body: bytes })).status).toBe(201);
    const res = await gw.api(path);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    expect(await readFile(join(gw.home, 'photos 2026', 'café ☕.png'))).toEqual(bytes);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    await gw.api('/files/a.json', { method: 'PUT', body: '{"a":1}' });
    const res = await gw.api('/files/a.json', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('7');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('last-modified')).toBeTruthy();
    expect(await res.text()).toBe('');
  });

  it('lists a directory as JSON, hiding the instance-private directory', async () => {
    const res = await gw.api('/files/');
    expect(res.status).toBe(200);
    const listing = await res.json();
    expect(listing.path).toBe('');
    expect(listing.entries.map((e: { name: string }) => e.name)).toEqual(['apps', 'data', 'jobs', 'system']);
    const system = await (await gw.api('/files/system')).json();
    expect(system.entries).toContainEqual(
      expect.objectContaining({ name: 'profile.md', type: 'file', size: expect.any(Number) }),
    );
  });

  it('deletes files (204) and directories, refusing a non-empty one unless asked', async () => {
    await gw.api('/files/trash/a.txt', { method: 'PUT', body: 'a' });
    expect((await gw.api('/files/trash/a.txt', { method: 'DELETE' })).status).toBe(204);
    expect((await gw.api('/files/trash/a.txt')).status).toBe(404);
    expect((await gw.api('/files/trash/a.txt', { method: 'DELETE' })).status).toBe(404);

    await gw.api('/files/trash/b.txt', { method: 'PUT', body: 'b' });
    const refused = await gw.api('/files/trash', { method: 'DELETE' });
    expect(refused.status).toBe(409);
    expect((await refused.json()).error.code).toBe('directory_not_empty');
    expect((await gw.api('/files/trash?recursive=true', { method: 'DELETE' })).status).toBe(204);
    await expect(stat(join(gw.home, 'trash'))).rejects.toThrow(/ENOENT/);
    expect((await gw.api('/files/', { method: 'DELETE' })).status).toBe(400);
  });

  it('answers conflicts with 409 instead of breaking things', async () => {
    await gw.api('/files/plain.txt', { method: 'PUT', body: 'x' });
    const underFile = await gw.api('/files/plain.txt/child.txt', { method: 'PUT', body: 'x' });
    expect(underFile.status).toBe(409);
    expect((await underFile.json()).error.code).toBe('parent_not_a_directory');
    const overDir = await gw.api('/files/system', { method: 'PUT', body: 'x' });
    expect(overDir.status).toBe(409);
    expect((await stat(join(gw.home, 'system'))).isDirectory()).toBe(true);
  });

  it('refuses a file over MAX_FILE_BYTES with 413 and leaves nothing behind', async () => {
    await gw.api('/files/keep.txt', { method: 'PUT', body: 'original' });
    const before = await entriesOf(gw.home);
    const big = Buffer.alloc(64 * 1024 + 1, 'x');

    const declared = await gw.api('/files/keep.txt', { method: 'PUT', body: big });
    expect(declared.status).toBe(413);
    expect((await declared.json()).error).toMatchObject({ code: 'file_too_large', maxBytes: 64 * 1024 });

    // Chunked, so the size is only known while streaming.
    const status = await new Promise<number>((resolve, reject) => {
      const { hostname, port } = new URL(gw.url);
      const req = request(
        {
          host: hostname,
          port,
          method: 'PUT',
          path: '/files/big.bin',
          headers: { authorization: `Bearer ${gw.token}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 20; i++) req.write(Buffer.alloc(8 * 1024, 'y'));
      req.end();
    });
    expect(status).toBe(413);

    // The temp file is removed before the 413 is sent: nothing to wait for.
    expect(await entriesOf(gw.home)).toEqual(before);
    expect(await readFile(join(gw.home, 'keep.txt'), 'utf8')).toBe('original');
  });

  it('leaves the old file whole when an upload is cut off midway', async () => {
    await gw.api('/files/doc.txt', { method: 'PUT', body: 'version one' });
    const before = await entriesOf(gw.home);
    await new Promise<void>((resolve) => {
      const { hostname, port } = new URL(gw.url);
      const req = request({
        host: hostname,
        port,
        method: 'PUT',
        path: '/files/doc.txt',
        headers: { authorization: `Bearer ${gw.token}`, 'content-length': '1000' },
      });
      req.on('error', () => resolve());
      req.write('version tw');
      // Cut once the route is streaming the body into its temp file.
      void uploadInProgress(gw.home).then(() => {
        req.destroy();
        resolve();
      });
    });
    // The route removes its temp file when it sees the body end early; the old file stays whole.
    await expect.poll(() => entriesOf(gw.home), { timeout: 5_000 }).toEqual(before);
    expect(await readFile(join(gw.home, 'doc.txt'), 'utf8')).toBe('version one');
  });

  it('tells a missing file (404) from a bad path (400)', async () => {
    const res = await gw.api('/files/nope/nothing.txt');
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('not_found');
  });
});

describe('/files path attacks', () => {
  let outside: string;
  beforeAll(async () => {
    outside = await mkdtemp(join(tmpdir(), 'matrixos-outside-'));
    await writeFile(join(outside, 'secret.txt'), 'outside the home');
  });
  afterAll(() => rm(outside, { recursive: true, force: true }));

  it.each([
    ['GET', '/files/../../etc/passwd'],
    ['GET', '/files/%2e%2e/%2e%2e/etc/passwd'],
    ['GET', '/files/..%2f..%2fetc%2fpasswd'],
    ['GET', '/files/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd'],
    ['GET', '/files/system/..%2F..%2F..%2Fetc%2Fpasswd'],
    ['GET', '/files/%2fetc%2fpasswd'],
    ['GET', '/files//etc/passwd'],
    ['GET', '/files/system/profile.md%00.txt'],
    ['GET', '/files/%c0%ae%c0%ae/etc/passwd'],
    ['PUT', '/files/../escape.txt'],
    ['PUT', '/files/%2e%2e/escape.txt'],
    ['PUT', '/files/..%2fescape.txt'],
    ['PUT', '/files//tmp/escape.txt'],
    ['PUT', '/files/a%00b.txt'],
    ['DELETE', '/files/..%2f..%2fetc%2fpasswd'],
    ['DELETE', '/files/%2e%2e'],
  ])('%s %s is refused with a 4xx and touches nothing', async (method, path) => {
    const before = await entriesOf(gw.home);
    const res = await rawRequest(gw, method, path, method === 'PUT' ? 'pwned' : undefined);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(JSON.stringify(res.json)).not.toMatch(/root:/);
    expect(await entriesOf(gw.home)).toEqual(before);
    await expect(stat(join(gw.home, '..', 'escape.txt'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses symlinks that lead out of the home, for reading and for writing through them', async () => {
    await symlink(outside, join(gw.home, 'elsewhere'));
    await symlink(join(outside, 'secret.txt'), join(gw.home, 'secret-link.txt'));

    for (const path of ['/files/elsewhere/secret.txt', '/files/secret-link.txt', '/files/elsewhere']) {
      const res = await gw.api(path);
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe('path_escapes_home');
    }
    const put = await gw.api('/files/elsewhere/new.txt', { method: 'PUT', body: 'x' });
    expect(put.status).toBe(403);
    const del = await gw.api('/files/elsewhere/secret.txt', { method: 'DELETE' });
    expect(del.status).toBe(403);
    expect(await readdir(outside)).toEqual(['secret.txt']);
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('outside the home');
  });

  it('replaces an escaping symlink on PUT instead of writing through it', async () => {
    await symlink(join(outside, 'secret.txt'), join(gw.home, 'trap.txt'));
    expect((await gw.api('/files/trap.txt', { method: 'PUT', body: 'mine' })).status).toBe(200);
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('outside the home');
    expect(await readFile(join(gw.home, 'trap.txt'), 'utf8')).toBe('mine');
  });

  it('follows symlinks that stay inside the home', async () => {
    await mkdir(join(gw.home, 'real'));
    await writeFile(join(gw.home, 'real/a.txt'), 'inside');
    await symlink(join(gw.home, 'real'), join(gw.home, 'alias'));
    const res = await gw.api('/files/alias/a.txt');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('inside');
  });

  it('never serves or changes the instance-private directory, directly or through a symlink', async () => {
    const token = await readFile(join(gw.home, '.matrixos', 'template.json'), 'utf8');
    await symlink(join(gw.home, '.matrixos'), join(gw.home, 'peek'));
    for (const [method, path] of [
      ['GET', '/files/.matrixos/template.json'],
      ['GET', '/files/.matrixos'],
      ['GET', '/files/%2Ematrixos/template.json'],
      ['GET', '/files/peek/template.json'],
      ['PUT', '/files/.matrixos/auth-token'],
      ['PUT', '/files/peek/auth-token'],
      ['DELETE', '/files/.matrixos/template.json'],
      ['DELETE', '/files/.matrixos'],
    ] as const) {
      const res = await rawRequest(gw, method, path, method === 'PUT' ? 'attacker-token' : undefined);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json?.error?.code).toBe('private_path');
    }
    expect(await readFile(join(gw.home, '.matrixos', 'template.json'), 'utf8')).toBe(token);
    await expect(stat(join(gw.home, '.matrixos', 'auth-token'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses to open a FIFO (it would block the instance)', async () => {
    execFileSync('mkfifo', [join(gw.home, 'pipe')]);
    const res = await gw.api('/files/pipe');
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe('not_a_regular_file');
  });
});

describe('/files filesystem errors', () => {
  const long = 'n'.repeat(300);
  const deep = Array.from({ length: 20 }, () => 'd'.repeat(250)).join('/');

  it.each([
    ['GET 300-char name', 'GET', `/files/${long}`, 400, 'name_too_long'],
    ['HEAD 300-char name', 'HEAD', `/files/${long}`, 400, undefined],
    ['PUT 300-char name', 'PUT', `/files/${long}`, 400, 'name_too_long'],
    ['PUT 300-char folder', 'PUT', `/files/notes/${long}/a.txt`, 400, 'name_too_long'],
    ['DELETE 300-char name', 'DELETE', `/files/${long}`, 400, 'name_too_long'],
    ['GET 5000-char path', 'GET', `/files/${deep}`, 400, 'name_too_long'],
    ['PUT 5000-char path', 'PUT', `/files/${deep}`, 400, 'name_too_long'],
    ['GET symlink loop', 'GET', '/files/loop-a', 400, 'symlink_loop'],
    ['GET through a symlink loop', 'GET', '/files/loop-a/inside.txt', 400, 'symlink_loop'],
    ['PUT through a symlink loop', 'PUT', '/files/loop-a/inside.txt', 400, 'symlink_loop'],
    ['DELETE through a symlink loop', 'DELETE', '/files/loop-a/inside.txt', 400, 'symlink_loop'],
    ['GET under a file', 'GET', '/files/plain.txt/child.txt', 404, 'not_found'],
    ['DELETE under a file', 'DELETE', '/files/plain.txt/child.txt', 404, 'not_found'],
    ['GET app page that is a folder', 'GET', '/apps/dir-app/', 404, 'not_found'],
  ] as const)('%s → %i %s', async (_label, method, path, status, code) => {
    await symlink('loop-b', join(gw.home, 'loop-a'));
    await symlink('loop-a', join(gw.home, 'loop-b'));
    await writeFile(join(gw.home, 'plain.txt'), 'x');
    await mkdir(join(gw.home, 'apps/dir-app/index.html'), { recursive: true });
    const res = await rawRequest(gw, method, path, method === 'PUT' ? 'data' : undefined);
    expect(res.status).toBe(status);
    if (code) expect(res.json?.error?.code).toBe(code);
  });

  it('gives the AI a clear tool error for the same paths, not a crash', async () => {
    const bus = gw.gateway.bus;
    const tools = createToolbox({
      home: gw.home,
      maxFileBytes: 1024,
      bus,
      apps: createAppStore({ home: gw.home, bus, maxFileBytes: 1024 }),
      log: createLogger('test', 'silent'),
    });
    await symlink('loop-b', join(gw.home, 'loop-a'));
    await symlink('loop-a', join(gw.home, 'loop-b'));
    for (const [name, input, says] of [
      ['write_file', { path: long, content: 'x' }, /too long/],
      ['read_file', { path: `${long}/a.md` }, /too long/],
      ['list_directory', { path: 'loop-a' }, /symbolic links/],
      ['write_file', { path: 'loop-a/x.md', content: 'x' }, /symbolic links/],
    ] as const) {
      const outcome = await tools.run(name, input);
      expect(outcome.ok, name).toBe(false);
      expect(outcome.content).toMatch(says);
    }
  });
});

describe('/files fuzz', () => {
  // A fixed seed: a failure names a request that can be replayed.
  function random(seed: number) {
    let s = seed >>> 0;
    return () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
  }
  const PIECES = [
    'a',
    '..',
    '.',
    '%2e',
    '%2f',
    '%00',
    '%ff',
    '%c0%ae',
    '~',
    '/',
    '//',
    '.matrixos',
    'x'.repeat(260),
    '%',
    '%zz',
    'é',
    '\\',
    ';',
    '?',
    '#',
    ' ',
    '%20',
    'apps',
    'system',
    'profile.md',
  ];

  it('answers 600 random paths on the files, apps, conversations and messages routes, never with a 5xx', async () => {
    const rnd = random(0x5eed);
    const seen = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const method = ['GET', 'HEAD', 'PUT', 'DELETE'][Math.floor(rnd() * 4)]!;
      const parts = Array.from(
        { length: 1 + Math.floor(rnd() * 6) },
        () => PIECES[Math.floor(rnd() * PIECES.length)],
      );
      const path = `/files/${parts.join(rnd() < 0.7 ? '/' : '')}`.replace(/[#?]/g, (m) =>
        encodeURIComponent(m),
      );
      const res = await rawRequest(
        gw,
        method,
        path.replace(/ /g, '%20'),
        method === 'PUT' ? 'fuzz' : undefined,
      );
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      expect(res.status, `${method} ${path}`).toBeLessThan(500);
    }
    console.info(`[fuzz] /files statuses: ${JSON.stringify(Object.fromEntries(seen))}`);
    // The other routes that take a name from the path or the query.
    const others = new Map<number, number>();
    for (let i = 0; i < 200; i++) {
      const piece = () => PIECES[Math.floor(rnd() * PIECES.length)]!;
      const path = [
        `/apps/${piece()}/${piece()}`,
        `/apps/${piece()}`,
        `/api/conversations/${piece()}`,
        `/api/messages?since=${piece()}&limit=${piece()}`,
      ][i % 4]!.replace(/[# ]/g, (m) => encodeURIComponent(m));
      const method = i % 4 === 2 && rnd() < 0.5 ? 'DELETE' : 'GET';
      const res = await rawRequest(gw, method, path);
      others.set(res.status, (others.get(res.status) ?? 0) + 1);
      expect(res.status, `${method} ${path}`).toBeLessThan(500);
    }
    console.info(
      `[fuzz] apps, conversations, messages statuses: ${JSON.stringify(Object.fromEntries(others))}`,
    );
    // The home itself is still there and served.
    expect((await gw.api('/files/system/profile.md')).status).toBe(200);
  });
});
