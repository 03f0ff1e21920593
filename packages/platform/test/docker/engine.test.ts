import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { dockerAvailable } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCodeAt } from '../../src/accounts/totp.ts';
import { createCookieClient, signUpWithTotp } from '../cookieClient.ts';
import { startTestPlatform, type TestPlatform } from '../harness.ts';

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();

interface InstanceReply {
  instance?: { state: string; engineId: string | null; lastError: string | null };
  engine: { state: string } | null;
}

/** What the engine does behind the platform's back, and what a tenant does with its disk. */
describe.skipIf(!(await dockerAvailable()))('the engine, on Docker', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    // Small disks, so that filling one is quick; sign-ups from simulated clients (X-Forwarded-For).
    t = await startTestPlatform({ runtime: 'docker', env: { INSTANCE_DISK: '48m', TRUST_PROXY: 'true' } });
    await t.reconciled;
  });
  afterAll(() => t?.destroy());

  const container = (handle: string) => `${t.platformId}-${handle}`;
  const state = async (handle: string) =>
    (await t.admin('GET', `/containers/${handle}`)).json<InstanceReply>();
  const writeFile = (handle: string, token: string, name: string, body: string) =>
    t.instance(handle, {
      method: 'PUT',
      path: `/files/${name}`,
      body,
      headers: { authorization: `Bearer ${token}` },
    });

  describe('a freed handle never hands the old owner data to a stranger', () => {
    it('keeps the name taken while the data is kept; after the admin deletes it, the new owner starts empty', async () => {
      const oldToken = await t.provision('erin');
      expect((await writeFile('erin', oldToken, 'diary.txt', 'the first owner')).status).toBe(201);
      expect((await t.admin('DELETE', '/containers/erin')).json()).toEqual({
        deleted: 'erin',
        dataDeleted: false,
      });

      // A stranger: the name reads as taken, with the reason, and sign-up refuses it.
      const stranger = createCookieClient(t.port);
      const avail = await stranger.cp('/auth/handles/erin');
      expect(avail.json()).toEqual({
        handle: 'erin',
        available: false,
        reason: '"erin" is taken: it belonged to an earlier account, whose data is kept',
      });
      const signup = await stranger.cp('/auth/signup/totp/options', {
        method: 'POST',
        body: { handle: 'erin' },
      });
      expect(signup.status).toBe(409);
      expect(signup.json<{ error: { code: string; message: string } }>().error).toEqual({
        code: 'handle_taken',
        message: '"erin" is taken: it belonged to an earlier account, whose data is kept',
      });
      const provision = await t.admin('POST', '/containers/provision', { handle: 'erin' });
      expect(provision.status).toBe(409);
      expect(provision.json<{ error: { code: string } }>().error.code).toBe('handle_reserved');
      expect(docker('ps', '-a', '-q', '--filter', `name=^${container('erin')}$`)).toBe('');

      // The admin releases the name by deleting the data.
      expect((await t.admin('DELETE', '/containers/erin/data')).json()).toEqual({
        handle: 'erin',
        dataDeleted: true,
        available: true,
      });
      expect((await stranger.cp('/auth/handles/erin')).json()).toEqual({ handle: 'erin', available: true });

      // The new owner signs up; their instance is provisioned, and has none of the old files.
      await signUpWithTotp(stranger, 'erin');
      await expect
        .poll(async () => (await state('erin')).instance?.state, { timeout: 30_000 })
        .toBe('running');
      const { token } = (await t.admin('POST', '/containers/erin/token')).json<{ token: string }>();
      const read = await t.instance('erin', {
        path: '/files/diary.txt',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(read.status).toBe(404);
      expect(read.text).not.toContain('the first owner');
      // And the old token is no key to the new instance.
      expect(
        (await t.instance('erin', { path: '/api/profile', headers: { authorization: `Bearer ${oldToken}` } }))
          .status,
      ).toBe(401);
    });
  });

  describe('engine events', () => {
    it.each([
      ['docker rm -f', (name: string) => docker('rm', '-f', name), null],
      ['docker stop', (name: string) => docker('stop', '-t', '1', name), 'stopped'],
    ] as const)(
      'after `%s` behind its back the admin API says so at once, and the next request wakes it',
      async (_what, act, engine) => {
        const token = await t.provision('frank');
        act(container('frank'));
        // Within a second: the engine's event stream, not the next sweep (SWEEP_INTERVAL is 5 min).
        await expect
          .poll(async () => (await state('frank')).instance?.state, { timeout: 1000, interval: 50 })
          .toBe('stopped');
        expect((await state('frank')).engine?.state ?? null).toBe(engine);
        expect(t.platform.orchestrator.route('frank')).toEqual({ state: 'stopped', endpoint: null });
        const woken = await t.instance('frank', {
          path: '/api/profile',
          headers: { authorization: `Bearer ${token}` },
        });
        expect(woken.status).toBe(200);
        expect(await state('frank')).toMatchObject({
          instance: { state: 'running', lastError: null },
          engine: { state: 'running' },
        });
        await t.admin('DELETE', '/containers/frank?deleteData=true');
      },
    );
  });

  describe('instance images', () => {
    it('pins a new instance to the content tag of its image, so a moved tag never changes it', async () => {
      await t.provision('ivan');
      const { instance } = (await t.admin('GET', '/containers/ivan')).json<{ instance: { image: string } }>();
      expect(instance.image).toMatch(/^matrixos\/instance:[0-9a-f]{32}$/);
      expect(docker('inspect', '-f', '{{.Config.Image}}', container('ivan'))).toBe(instance.image);
      await t.admin('DELETE', '/containers/ivan?deleteData=true');
    });

    it('refuses a provision clearly when its image is missing, and the sign-up progress ends saying what to do', async () => {
      const other = await startTestPlatform({
        runtime: 'docker',
        env: { INSTANCE_IMAGE: `matrixos/instance:missing-${t.platformId}`, TRUST_PROXY: 'true' },
      });
      try {
        const message = `image matrixos/instance:missing-${t.platformId} is not on the engine: run npm run build:image (bash scripts/build-image.sh)`;
        expect(await other.platform.orchestrator.checkImage()).toBe(message);
        const r = await other.admin('POST', '/containers/provision', { handle: 'judy' });
        expect(r.status).toBe(503);
        expect(r.json()).toEqual({ error: { code: 'image_missing', message } });

        // A sign-up provisions in the background: its progress stream ends on the failure, with the reason.
        const client = createCookieClient(other.port);
        const start = await client.cp('/auth/signup/totp/options', {
          method: 'POST',
          body: { handle: 'kate' },
        });
        const { flowId, secret } = start.json<{ flowId: string; secret: string }>();
        await client.cp('/auth/signup/totp/verify', {
          method: 'POST',
          body: { flowId, code: totpCodeAt(secret, Date.now()) },
        });
        await expect.poll(() => other.platform.orchestrator.lastProgress('kate')?.step).toBe('failed');
        const progress = await client.cp('/me/instance/progress');
        const events = [...progress.text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!));
        expect(events).toEqual([
          {
            step: 'failed',
            message: expect.stringMatching(
              /^It did not start: image .* npm run build:image .*tell the administrator\.$/,
            ),
          },
        ]);
        expect(await other.runtime.list()).toEqual([]);
      } finally {
        await other.destroy();
      }
    });
  });

  describe('disk quota', () => {
    it('gives a tenant ENOSPC at its quota, and the host holds no more than the quota of it', async () => {
      await t.provision('gina');
      const write = () =>
        docker(
          'exec',
          container('gina'),
          'node',
          '-e',
          `const fs = require('node:fs');
           const chunk = Buffer.alloc(1 << 20, 1);
           let mb = 0;
           try { for (;;) { fs.appendFileSync(process.env.HOME + '/fill', chunk); mb++; } }
           catch (e) { console.log(e.code + ' ' + mb); }`,
        );
      const [code, written] = write().split(' ');
      expect(code).toBe('ENOSPC');
      expect(Number(written)).toBeGreaterThan(30);
      expect(Number(written)).toBeLessThan(48);
      const volume = t.platform.store.get('gina')!.volume!;
      const image = path.join(t.config.disk.dir, `${volume}.img`);
      // What the tenant's data takes on the host's disk: the blocks of its image, at most its size.
      expect(statSync(image).blocks * 512).toBeLessThanOrEqual(48 * 1024 * 1024);
      // The tenant's home is a filesystem of its own, of the quota's size (not the host's disk).
      const seen = docker(
        'exec',
        container('gina'),
        'node',
        '-e',
        'const s = require("node:fs").statfsSync(process.env.HOME); console.log(s.blocks * s.bsize)',
      );
      expect(Number(seen)).toBeLessThanOrEqual(48 * 1024 * 1024);
    });

    it('mounts the disks again after a reboot (unmounted under a stopped platform), data and quota intact', async () => {
      const token = await t.provision('hank');
      expect((await writeFile('hank', token, 'kept.txt', 'still here')).status).toBe(201);
      const volume = t.platform.store.get('hank')!.volume!;
      await t.admin('POST', '/containers/hank/stop');
      await t.stop();
      // What a reboot does: no disk is mounted any more.
      execFileSync('umount', [path.join(t.config.disk.dir, 'mnt', volume)]);
      t = await startTestPlatform({
        runtime: 'docker',
        dataDir: t.dataDir,
        platformId: t.platformId,
        adminToken: t.adminToken,
        env: { INSTANCE_DISK: '48m', TRUST_PROXY: 'true' },
      });
      await t.reconciled;
      const read = await t.instance('hank', {
        path: '/files/kept.txt',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(read.status).toBe(200);
      expect(read.text).toBe('still here');
      const mounts = docker(
        'exec',
        container('hank'),
        'node',
        '-e',
        'console.log(require("node:fs").readFileSync("/proc/self/mountinfo", "utf8"))',
      );
      expect(mounts).toMatch(/ \/home\/matrixos\/home .* - ext4 \/dev\/loop\d+ /);
    });
  });
});
