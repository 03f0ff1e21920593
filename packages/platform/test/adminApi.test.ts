import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCookieClient, signUpWithTotp } from './cookieClient.ts';
import { startTestPlatform, type TestPlatform } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));

export const BAD_HANDLES: [string, unknown][] = [
  ['upper case', 'Alice'],
  ['dots', 'al.ice'],
  ['dot-dot', '..'],
  ['traversal', '../../etc'],
  ['1 char', 'a'],
  ['64 chars', 'a'.repeat(64)],
  ['reserved (admin)', 'admin'],
  ['reserved (www)', 'www'],
  ['reserved (app)', 'app'],
  ['unicode', 'алиса'],
  ['emoji', 'bob😀'],
  ['leading digit', '9lives'],
  ['space', 'bob smith'],
  ['a number', 42],
  ['null', null],
];

/** The admin API of the control plane, on fixture instances (process driver). */
describe('admin API', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'process', command: [process.execPath, FIXTURE] });
    await t.provision('alice');
  });
  afterAll(() => t?.destroy());

  const ROUTES: [string, string][] = [
    ['POST', '/containers/provision'],
    ['GET', '/containers'],
    ['GET', '/containers/alice'],
    ['GET', '/containers/alice/logs'],
    ['POST', '/containers/alice/start'],
    ['POST', '/containers/alice/stop'],
    ['POST', '/containers/alice/pause'],
    ['POST', '/containers/alice/restart'],
    ['DELETE', '/containers/alice'],
    ['POST', '/containers/alice/token'],
    ['DELETE', '/containers/alice/data'],
    ['GET', '/admin/kept-data'],
    ['POST', '/admin/sweep'],
  ];

  it.each(ROUTES)('%s %s refuses a request without the admin token (401)', async (method, p) => {
    const r = await t.request({
      method,
      path: p,
      body: method === 'POST' ? { handle: 'mallory' } : undefined,
    });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toContain('Bearer');
    expect(r.json()).toEqual({ error: { code: 'unauthorized', message: 'admin token required' } });
  });

  it.each(ROUTES)('%s %s refuses a wrong or malformed token (401)', async (method, p) => {
    for (const authorization of [
      `Bearer ${t.adminToken}x`,
      `Bearer ${t.adminToken.slice(0, -1)}`,
      `Basic ${t.adminToken}`,
      t.adminToken,
      'Bearer ',
    ]) {
      const r = await t.request({ method, path: p, headers: { authorization } });
      expect(r.status, authorization).toBe(401);
    }
  });

  it('has left alice running through all those refused calls', async () => {
    const r = await t.admin('GET', '/containers/alice');
    expect(r.json()).toMatchObject({ instance: { handle: 'alice', state: 'running' } });
    expect(readdirSync(path.join(t.dataDir, 'homes')).filter((v) => v.startsWith('mallory'))).toEqual([]);
  });

  it.each(BAD_HANDLES)(
    'refuses a bad handle (%s) with 400, leaving nothing behind',
    async (_name, handle) => {
      const before = (await t.runtime.list()).length;
      const r = await t.admin('POST', '/containers/provision', { handle });
      expect(r.status).toBe(400);
      const body = r.json<{ error: { code: string; message: string } }>();
      expect(body.error.code).toBe('invalid_handle');
      expect(body.error.message.length).toBeGreaterThan(10);
      expect(
        (await t.admin('GET', '/containers'))
          .json<{ instances: { handle: string }[] }>()
          .instances.map((i) => i.handle),
      ).toEqual(['alice']);
      expect((await t.runtime.list()).length).toBe(before);
      expect(readdirSync(path.join(t.dataDir, 'homes'))).toEqual([path.basename(t.homeOf('alice'))]);
    },
  );

  it('explains a body that is not JSON, or has no handle', async () => {
    const notJson = await t.request({
      method: 'POST',
      path: '/containers/provision',
      body: 'handle=alice',
      headers: {
        authorization: `Bearer ${t.adminToken}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.json<{ error: { code: string } }>().error.code).toBe('invalid_json');
    const noHandle = await t.admin('POST', '/containers/provision', { name: 'alice' });
    expect(noHandle.status).toBe(400);
    expect(noHandle.json<{ error: { code: string } }>().error.code).toBe('invalid_body');
  });

  it('answers a second provision of the same handle with the instance (200), never its token again', async () => {
    const r = await t.admin('POST', '/containers/provision', { handle: 'alice' });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ instance: expect.objectContaining({ handle: 'alice', state: 'running' }) });
  });

  it('never shows secrets in listings', async () => {
    const list = await t.admin('GET', '/containers');
    expect(list.text).not.toMatch(/mxi_|mxp_|sealed/i);
    expect(list.json<{ instances: unknown[] }>().instances[0]).toMatchObject({
      handle: 'alice',
      url: expect.stringMatching(/^http:\/\/alice\.localhost(:\d+)?$/),
    });
  });

  it('404s an unknown instance and 400s an invalid one in paths', async () => {
    expect((await t.admin('POST', '/containers/nobody/start')).status).toBe(404);
    const bad = await t.admin('POST', '/containers/Bad.Name/stop');
    expect(bad.status).toBe(400);
    expect(bad.json<{ error: { code: string } }>().error.code).toBe('invalid_handle');
  });

  it('destroys an instance but keeps its data unless asked, restores it when asked, then deletes it', async () => {
    await t.provision('carol');
    const home = t.homeOf('carol');
    writeFileSync(path.join(home, 'note.txt'), 'keep me');
    const kept = await t.admin('DELETE', '/containers/carol');
    expect(kept.json()).toEqual({ deleted: 'carol', dataDeleted: false });
    expect((await t.admin('GET', '/containers/carol')).status).toBe(404);
    expect(existsSync(path.join(home, 'note.txt'))).toBe(true);
    expect((await t.admin('GET', '/admin/kept-data')).json()).toEqual({
      kept: [{ handle: 'carol', keptAt: expect.any(String) }],
    });
    // The name is not free while its data is kept: a plain provision is refused...
    const refused = await t.admin('POST', '/containers/provision', { handle: 'carol' });
    expect(refused.status).toBe(409);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe('handle_reserved');
    // ...and the admin's explicit restore gives the same data back (an upgrade to a new image).
    const restored = await t.admin('POST', '/containers/provision', { handle: 'carol', restoreData: true });
    expect(restored.status).toBe(201);
    expect(t.homeOf('carol')).toBe(home);
    expect(existsSync(path.join(home, 'note.txt'))).toBe(true);
    expect((await t.admin('GET', '/admin/kept-data')).json()).toEqual({ kept: [] });
    const gone = await t.admin('DELETE', '/containers/carol?deleteData=true');
    expect(gone.json()).toEqual({ deleted: 'carol', dataDeleted: true });
    expect(existsSync(home)).toBe(false);
    expect((await t.admin('GET', '/admin/kept-data')).json()).toEqual({ kept: [] });
  });

  it('reports health without the token: engine, counts, memory, disk', async () => {
    const r = await t.request({ path: '/health' });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({
      status: 'ok',
      runtime: { kind: 'process', isolated: false, ok: true },
      instances: { total: 1, running: 1 },
      memory: { totalBytes: expect.any(Number), freeBytes: expect.any(Number) },
      disk: { totalBytes: expect.any(Number), freeBytes: expect.any(Number) },
      homeserver: { status: 'not_configured' },
    });
  });

  it('denies by default: an unknown route is 401 to strangers and a JSON 404 to the admin', async () => {
    expect((await t.request({ path: '/nope' })).status).toBe(401);
    const r = await t.admin('GET', '/nope');
    expect(r.status).toBe(404);
    expect(r.json<{ error: { code: string } }>().error.code).toBe('not_found');
  });
});

/** A new instance API token for an interrupted provision (the 201 was its only copy), or a leak. */
describe('token rotation', () => {
  let t: TestPlatform;
  let now = Date.now();
  beforeAll(async () => {
    t = await startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      env: { TRUST_PROXY: 'true' },
      clock: () => now,
    });
  });
  afterAll(() => t?.destroy());

  /** A request the router lets through only with the instance's current token. */
  const profile = (handle: string, token: string) =>
    t.instance(handle, { path: '/headers', headers: { authorization: `Bearer ${token}` } });

  it('gives the admin a new token, shown once; the instance takes it and the old one is refused', async () => {
    const old = await t.provision('alice');
    expect((await profile('alice', old)).status).toBe(200);
    const r = await t.admin('POST', '/containers/alice/token');
    expect(r.status).toBe(201);
    const { token, instance } = r.json<{ token: string; instance: { state: string } }>();
    expect(token).toMatch(/^mxi_/);
    expect(instance.state).toBe('running');
    expect((await profile('alice', old)).status).toBe(401);
    expect((await profile('alice', token)).status).toBe(200);
    const listed = await t.admin('GET', '/containers/alice');
    expect(listed.text).not.toContain(token);
  });

  it('refuses a loop of rotations (429), and bodies over the admin limit (413)', async () => {
    await t.provision('bob');
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push((await t.admin('POST', '/containers/bob/token')).status);
    expect(codes).toEqual([201, 201, 201, 201, 201, 429]);
    now += 61_000;
    expect((await t.admin('POST', '/containers/bob/token')).status).toBe(201);
    const big = await t.admin('POST', '/containers/provision', { handle: 'carol', pad: 'x'.repeat(4096) });
    expect(big.status).toBe(413);
    expect(big.json<{ error: { code: string } }>().error.code).toBe('body_too_large');
    expect((await t.admin('GET', '/containers/carol')).status).toBe(404);
  });

  it('gives the signed-in owner a new token for their own instance only, from the control plane only', async () => {
    const owner = createCookieClient(t.port);
    await signUpWithTotp(owner, 'dora', now);
    await expect
      .poll(
        async () =>
          (await t.admin('GET', '/containers/dora')).json<{ instance?: { state: string } }>().instance?.state,
        { timeout: 20_000 },
      )
      .toBe('running');
    const mine = await owner.cp('/me/instance/token', { method: 'POST' });
    expect(mine.status).toBe(201);
    const token = mine.json<{ token: string }>().token;
    expect((await profile('dora', token)).status).toBe(200);

    // Without a session: refused. From another origin with the owner's cookies (CSRF): refused.
    expect((await t.request({ method: 'POST', path: '/me/instance/token' })).status).toBe(401);
    const forged = await owner.cp('/me/instance/token', {
      method: 'POST',
      headers: { origin: 'http://evil.example' },
    });
    expect(forged.status).toBe(403);
    expect((await profile('dora', token)).status).toBe(200);

    // Another user rotates only their own (there is no handle to name in the request).
    const other = createCookieClient(t.port);
    await signUpWithTotp(other, 'eve', now);
    await expect
      .poll(
        async () =>
          (await t.admin('GET', '/containers/eve')).json<{ instance?: { state: string } }>().instance?.state,
        { timeout: 20_000 },
      )
      .toBe('running');
    const theirs = await other.cp('/me/instance/token', { method: 'POST', body: { handle: 'dora' } });
    expect(theirs.status).toBe(201);
    expect((await profile('dora', token)).status).toBe(200);
    expect((await profile('dora', theirs.json<{ token: string }>().token)).status).toBe(401);
  });
});
