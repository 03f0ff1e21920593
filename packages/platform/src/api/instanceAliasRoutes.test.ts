import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../test/harness.ts';

describe("the seed's control-plane aliases (/admin/instances)", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'process' });
  });
  afterAll(() => t?.destroy());

  it('provisions, shows and deletes an instance like /containers does', async () => {
    t.track('seedling');
    const made = await t.admin('POST', '/admin/instances', {
      subdomain: 'seedling',
      owner_email: 'test@example.com',
    });
    expect(made.status).toBe(201);
    expect(made.json()).toMatchObject({
      subdomain: 'seedling',
      owner_email: 'test@example.com',
      url: `http://seedling.localhost:${t.port}`,
      instance: { handle: 'seedling', state: 'running' },
      token: expect.stringMatching(/^mxi_/),
    });
    const again = await t.admin('POST', '/admin/instances', {
      subdomain: 'seedling',
      owner_email: 'test@example.com',
    });
    expect(again.status).toBe(200);
    expect(again.json()).not.toHaveProperty('token');
    const shown = await t.admin('GET', '/admin/instances/seedling');
    expect(shown.json()).toMatchObject({ subdomain: 'seedling', instance: { state: 'running' } });
    const gone = await t.admin('DELETE', '/admin/instances/seedling');
    expect(gone.json()).toEqual({ deleted: 'seedling' });
    expect((await t.admin('GET', '/admin/instances/seedling')).status).toBe(404);
    expect((await t.admin('DELETE', '/admin/instances/seedling')).status).toBe(404);
  });

  it('needs the admin token', async () => {
    const anon = await t.request({
      method: 'POST',
      path: '/admin/instances',
      body: { subdomain: 'nobody', owner_email: 'a@b.co' },
    });
    expect(anon.status).toBe(401);
    const wrong = await t.request({
      method: 'GET',
      path: '/admin/instances/nobody',
      headers: { authorization: 'Bearer mxa_not-the-admin-token-at-all-000' },
    });
    expect(wrong.status).toBe(401);
    expect((await t.request({ method: 'DELETE', path: '/admin/instances/nobody' })).status).toBe(401);
    expect((await t.admin('GET', '/containers')).json<{ instances: unknown[] }>().instances).toEqual([]);
  });

  it("keeps /admin/instances/:handle/open a signed-in user's route", async () => {
    const r = await t.admin('POST', '/admin/instances/someone/open');
    expect(r.status).toBe(401);
    expect(r.json<{ error: { code: string } }>().error.code).toBe('signed_out');
  });

  it.each([
    ['a bad email', { subdomain: 'okname', owner_email: 'not-an-email' }, 400],
    ['a reserved subdomain', { subdomain: 'admin', owner_email: 'a@b.co' }, 400],
    ['no subdomain', { owner_email: 'a@b.co' }, 400],
    ['an oversized body', { subdomain: 'okname', owner_email: 'a@b.co', pad: 'x'.repeat(5000) }, 413],
  ])('refuses %s, provisioning nothing', async (_n, body, status) => {
    const r = await t.admin('POST', '/admin/instances', body);
    expect(r.status).toBe(status);
    expect((await t.admin('GET', '/containers')).json<{ instances: unknown[] }>().instances).toEqual([]);
  });
});
