import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  type ProxyProcess,
  reply,
  startProxyProcess,
  startUpstreamStandIn,
  type UpstreamStandIn,
} from '@matrixos/proxy/testing';
import { newToken } from '@matrixos/shared';
import { dockerAvailable, TEST_INSTANCE_IMAGE } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { totpCodeAt } from '../../src/accounts/totp.ts';
import type { Manifest } from '../../src/backup/manifest.ts';
import { createCookieClient, signUpWithTotp } from '../cookieClient.ts';
import { PLATFORM_KEY, startTestPlatform, type TestPlatform } from '../harness.ts';
import { createSoftAuthenticator } from '../softAuthenticator.ts';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../src/cli/matrixos.ts', import.meta.url));

/**
 * Backup and restore for real: a platform on Docker with two users (a passkey for one, an app
 * code for the other), their files, chats and metered AI usage; `matrixos backup` while one is
 * awake; the data directories, containers and volumes destroyed; `matrixos restore` onto the
 * empty machine; and both sign in with their old factors and find everything.
 */
describe.skipIf(!(await dockerAvailable()))('matrixos backup and restore, on Docker', () => {
  let upstream: UpstreamStandIn;
  let proxy: ProxyProcess;
  let t: TestPlatform;
  const adminToken = newToken('mxa');
  const root = mkdtempSync(path.join(tmpdir(), 'matrixos-backup-test-'));
  const dataDir = path.join(root, 'data');
  const proxyDir = path.join(root, 'proxy');
  const backups = path.join(root, 'backups');
  const platformId = `tb${Math.random().toString(16).slice(2, 8)}`;
  // Later runs of the platform read a clock moved past the app code used at sign-up (no replay).
  let skew = 0;
  const clock = () => Date.now() + skew;

  async function start(): Promise<void> {
    proxy = await startProxyProcess({
      upstreamUrl: upstream.url,
      platformKey: PLATFORM_KEY,
      adminToken,
      host: '0.0.0.0',
      dir: proxyDir,
    });
    t = await startTestPlatform({
      runtime: 'docker',
      dataDir,
      platformId,
      adminToken,
      clock,
      proxyAdminUrl: proxy.url,
      env: { PROXY_PORT: String(proxy.port), TRUST_PROXY: 'true' },
    });
    await t.reconciled;
  }

  const cliEnv = () => ({
    ...process.env,
    DATA_DIR: dataDir,
    PROXY_DATA_DIR: proxyDir,
    PLATFORM_ID: platformId,
    RUNTIME: 'docker',
    INSTANCE_IMAGE: TEST_INSTANCE_IMAGE,
    LOG_LEVEL: 'warn',
  });
  const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { env: cliEnv() });

  beforeAll(async () => {
    upstream = await startUpstreamStandIn({ apiKeys: [PLATFORM_KEY] });
    await start();
  });
  afterAll(async () => {
    await t?.destroy();
    await proxy?.close();
    await upstream?.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** A bearer token for the instance API (the admin rotates one), to read and write as its owner. */
  async function instanceToken(handle: string): Promise<string> {
    const r = await t.admin('POST', `/containers/${handle}/token`);
    expect(r.status).toBe(201);
    return r.json<{ token: string }>().token;
  }

  async function chat(handle: string, token: string, text: string, answer: string): Promise<void> {
    upstream.enqueue(reply(answer, { usage: { input_tokens: 900, output_tokens: 30 } }));
    const ws = new WebSocket(`ws://127.0.0.1:${t.port}/ws`, {
      headers: { host: `${handle}.localhost:${t.port}`, authorization: `Bearer ${token}` },
    });
    const events: { type: string }[] = [];
    ws.on('message', (d) => events.push(JSON.parse(d.toString())));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'chat.send', text }));
    await expect.poll(() => events.some((e) => e.type === 'chat.done'), { timeout: 30_000 }).toBe(true);
    ws.close();
  }

  it('restores two users onto an empty machine: they sign in with their passkey and app code and find their files, chats and usage', async () => {
    const origin = () => `http://localhost:${t.port}`;
    // alice: a passkey. bob: an app code. Each sign-up provisions an instance.
    const device = createSoftAuthenticator();
    const a = createCookieClient(t.port);
    const aStart = (
      await a.cp('/auth/signup/passkey/options', { method: 'POST', body: { handle: 'alice' } })
    ).json<{
      flowId: string;
      options: never;
    }>();
    const aDone = await a.cp('/auth/signup/passkey/verify', {
      method: 'POST',
      body: { flowId: aStart.flowId, response: device.register(aStart.options, origin()) },
    });
    expect(aDone.status).toBe(201);
    const b = createCookieClient(t.port);
    const bStart = await signUpWithTotp(b, 'bob', clock());
    t.track('alice');
    t.track('bob');

    for (const [handle, note] of [
      ['alice', 'alice: remember the milk'],
      ['bob', 'bob: water the plants'],
    ] as const) {
      const token = await instanceToken(handle);
      const put = await t.instance(handle, {
        method: 'PUT',
        path: '/files/notes/today.txt',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        body: note,
      });
      expect(put.status).toBeLessThan(300);
      await chat(handle, token, `hello from ${handle}`, `Hi ${handle}, noted.`);
    }
    // bob sleeps, alice is awake while her volume is read (frozen for that moment).
    expect((await t.admin('POST', '/containers/bob/stop')).status).toBe(200);

    const { stdout } = await cli('backup', '--out', backups);
    const dir = JSON.parse(stdout.trim().split('\n').at(-1)!).dir as string;
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest.users.map((u) => u.handle)).toEqual(['alice', 'bob']);
    const aliceVolume = manifest.users[0]!.volume!;
    expect(manifest.volumes.find((v) => v.key === aliceVolume)?.frozen).toBe(true);
    expect(manifest.volumes.find((v) => v.key === manifest.users[1]!.volume)?.frozen).toBe(false);
    expect(manifest.files.map((f) => f.path)).toEqual(
      expect.arrayContaining(['db/platform.db', 'db/proxy.db', 'keys/platform.key', 'keys/proxy-secret.key']),
    );
    // alice's instance was resumed after the backup: it still answers.
    expect((await t.instance('alice', { path: '/health', anonymous: true })).status).toBe(200);

    // The machine is lost: platform, proxy, containers, volumes and disks, data directories.
    const volumes = await t.runtime.listVolumes();
    expect(volumes).toHaveLength(2);
    await t.stop();
    await proxy.stop();
    for (const rt of await t.runtime.list()) await t.runtime.remove(rt.id);
    for (const v of volumes) await t.runtime.removeVolume(v);
    expect(await t.runtime.listVolumes()).toEqual([]);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(proxyDir, { recursive: true, force: true });

    // A damaged backup is refused, naming the file, before anything is written.
    const damaged = `${dir}-damaged`;
    cpSync(dir, damaged, { recursive: true });
    const tar = path.join(damaged, 'volumes', `${aliceVolume}.tar`);
    const bytes = readFileSync(tar);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
    writeFileSync(tar, bytes);
    const refused = await cli('restore', damaged).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toContain(`volumes/${aliceVolume}.tar does not match its checksum`);
    expect(existsSync(path.join(dataDir, 'platform.db'))).toBe(false);
    expect(await t.runtime.listVolumes()).toEqual([]);

    await cli('restore', dir);
    expect((await t.runtime.listVolumes()).sort()).toEqual(volumes.sort());
    // Restoring over a restored machine is refused: it would overwrite live data.
    const again = await cli('restore', dir).then(
      () => null,
      (err: { stderr: string }) => err,
    );
    expect(again?.stderr).toContain('restore only onto an empty DATA_DIR');

    skew = 120_000;
    await start();
    const origin2 = `http://localhost:${t.port}`;
    // alice signs in with the same passkey.
    const a2 = createCookieClient(t.port);
    const login = (await a2.cp('/auth/login/options', { method: 'POST', body: { handle: 'alice' } })).json<{
      flowId: string;
      options: never;
    }>();
    const signedIn = await a2.cp('/auth/login/passkey', {
      method: 'POST',
      body: { flowId: login.flowId, response: device.assert(login.options, origin2) },
    });
    expect(signedIn.status).toBe(200);
    expect((await a2.cp('/me')).json()).toMatchObject({ user: { handle: 'alice' } });
    // bob signs in with a code from the same app.
    const b2 = createCookieClient(t.port);
    const totp = await b2.cp('/auth/login/totp', {
      method: 'POST',
      body: { handle: 'bob', code: totpCodeAt(bStart.secret, clock()) },
    });
    expect(totp.status).toBe(200);
    expect((await b2.cp('/me')).json()).toMatchObject({ user: { handle: 'bob' } });

    for (const [handle, note] of [
      ['alice', 'alice: remember the milk'],
      ['bob', 'bob: water the plants'],
    ] as const) {
      const token = await instanceToken(handle);
      const auth = { authorization: `Bearer ${token}` };
      const file = await t.instance(handle, { path: '/files/notes/today.txt', headers: auth });
      expect(file.status).toBe(200);
      expect(file.text).toBe(note);
      const list = await t.instance(handle, { path: '/api/conversations', headers: auth });
      const conversations = list.json<{ conversations: { id: string }[] }>().conversations;
      expect(conversations).toHaveLength(1);
      const convo = await t.instance(handle, {
        path: `/api/conversations/${conversations[0]!.id}`,
        headers: auth,
      });
      expect(convo.text).toContain(`hello from ${handle}`);
      expect(convo.text).toContain(`Hi ${handle}, noted.`);
      const usage = await fetch(`${proxy.url}/usage/${handle}`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      const body = (await usage.json()) as { byModel: { requests: number }[]; total: { spent: number } };
      expect(body.byModel[0]?.requests).toBe(1);
      expect(body.total.spent).toBeGreaterThan(0);
    }
    expect(readdirSync(backups).filter((n) => !n.endsWith('-damaged'))).toHaveLength(1);
  }, 240_000);
});
