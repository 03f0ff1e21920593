import { dockerAvailable } from '@matrixos/shared/testing';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../harness.ts';

/**
 * The whole path on the real engine and the real instance image: provision, route by Host,
 * use an instance's API, and keep its data through stop/start, a platform restart and a
 * re-provision.
 */
describe.skipIf(!(await dockerAvailable()))('instances on Docker', () => {
  let t: TestPlatform;
  const tokens: Record<string, string> = {};
  const auth = (handle: string) => ({ authorization: `Bearer ${tokens[handle]}` });

  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'docker' });
    [tokens.alice, tokens.bob] = await Promise.all([t.provision('alice'), t.provision('bob')]);
  });
  afterAll(() => t?.destroy());

  it('reaches each instance by its Host', async () => {
    for (const handle of ['alice', 'bob']) {
      const r = await t.instance(handle, { path: '/health' });
      expect(r.status).toBe(200);
      expect(r.json()).toMatchObject({ status: 'ok', handle });
    }
  });

  it("runs instances without the image's polling HEALTHCHECK, so an idle one forks nothing", async () => {
    const docker = new Docker();
    const image = await docker.getImage(t.config.instance.image).inspect();
    // The image keeps its check for `docker run` by hand; the platform asks /health itself.
    expect(image.Config.Healthcheck?.Test?.[0]).toBe('CMD');
    const info = await docker.getContainer(t.platform.store.get('alice')!.engineId!).inspect();
    expect(info.Config.Healthcheck?.Test).toEqual(['NONE']);
    expect(info.State.Health).toBeUndefined();
  });

  it("refuses one user's token at another user's instance, and the admin token at both", async () => {
    expect((await t.instance('alice', { path: '/api/profile', headers: auth('alice') })).status).toBe(200);
    expect((await t.instance('bob', { path: '/api/profile', headers: auth('alice') })).status).toBe(401);
    expect((await t.instance('alice', { path: '/api/profile', anonymous: true })).status).toBe(401);
    // The router refuses the platform's admin token before it could reach a tenant's container.
    expect(
      (
        await t.instance('alice', {
          path: '/api/profile',
          headers: { authorization: `Bearer ${t.adminToken}` },
        })
      ).status,
    ).toBe(401);
  });

  it("keeps a file written through an instance's API across stop/start, a platform restart and a re-provision", async () => {
    const put = await t.instance('alice', {
      method: 'PUT',
      path: '/files/notes/hello.txt',
      body: 'hello from alice',
      headers: auth('alice'),
    });
    expect(put.status).toBe(201);
    const read = async () =>
      (await t.instance('alice', { path: '/files/notes/hello.txt', headers: auth('alice') })).text;
    expect(await read()).toBe('hello from alice');

    expect((await t.admin('POST', '/containers/alice/stop')).json()).toMatchObject({
      instance: { state: 'stopped' },
    });
    expect((await t.admin('POST', '/containers/alice/start')).json()).toMatchObject({
      instance: { state: 'running' },
    });
    expect(await read()).toBe('hello from alice');

    await t.stop();
    t = await startTestPlatform({
      runtime: 'docker',
      dataDir: t.dataDir,
      platformId: t.platformId,
      adminToken: t.adminToken,
    });
    await t.reconciled;
    t.track('alice');
    t.track('bob');
    expect(await read()).toBe('hello from alice');

    expect((await t.admin('DELETE', '/containers/alice')).json()).toEqual({
      deleted: 'alice',
      dataDeleted: false,
    });
    expect((await t.instance('alice', { path: '/health' })).status).toBe(404);
    // Kept data reserves the name; the admin gives it back on purpose (e.g. to move to a new image).
    expect((await t.admin('POST', '/containers/provision', { handle: 'alice' })).status).toBe(409);
    const restored = await t.admin('POST', '/containers/provision', { handle: 'alice', restoreData: true });
    expect(restored.status).toBe(201);
    tokens.alice = restored.json<{ token: string }>().token;
    expect(await read()).toBe('hello from alice');
  });

  it('does not let bob see the file alice wrote', async () => {
    const r = await t.instance('bob', { path: '/files/notes/hello.txt', headers: auth('bob') });
    expect(r.status).toBe(404);
  });
});
