import { dockerAvailable } from '@matrixos/shared/testing';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../harness.ts';

const docker = new Docker();

/** Runs a small Node script inside an instance's container, as its own user. */
async function execNode(containerId: string, script: string): Promise<string> {
  const exec = await docker
    .getContainer(containerId)
    .exec({ Cmd: ['node', '-e', script], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  // Strip the engine's 8-byte frame headers.
  const raw = Buffer.concat(chunks);
  const out: Buffer[] = [];
  for (let i = 0; i + 8 <= raw.length; ) {
    const len = raw.readUInt32BE(i + 4);
    out.push(raw.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(out).toString().trim();
}

const tryConnect = (host: string, port: number) => `
const s = require('node:net').connect({ host: ${JSON.stringify(host)}, port: ${port} });
s.setTimeout(2000, () => { console.log('timeout'); process.exit(0); });
s.on('connect', () => { console.log('connected'); process.exit(0); });
s.on('error', (e) => { console.log(e.code); process.exit(0); });`;

describe.skipIf(!(await dockerAvailable()))('tenant isolation on Docker', () => {
  let t: TestPlatform;
  const ids: Record<string, string> = {};
  const ips: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestPlatform({ runtime: 'docker' });
    await Promise.all([t.provision('alice'), t.provision('bob')]);
    for (const h of ['alice', 'bob']) {
      ids[h] = (await t.admin('GET', `/containers/${h}`)).json<{
        instance: { engineId: string };
      }>().instance.engineId;
      const info = await docker.getContainer(ids[h]!).inspect();
      ips[h] = info.NetworkSettings.Networks[t.config.dockerNetwork]!.IPAddress;
    }
  });
  afterAll(() => t?.destroy());

  it('runs each instance hardened: non-root, no capabilities, no new privileges, limits, read-only root, only its volume', async () => {
    const info = await docker.getContainer(ids.alice!).inspect();
    expect(info.Config.User).toBe('1000:1000');
    expect(info.HostConfig.CapDrop).toEqual(['ALL']);
    expect(info.HostConfig.CapAdd ?? []).toEqual([]);
    expect(info.HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.PidsLimit).toBeGreaterThan(0);
    expect(info.Mounts.map((m) => [m.Type, m.Name, m.Destination])).toEqual([
      [
        'volume',
        // Its own generation's volume: `{handle}_{id}`, never one an earlier account of that name used.
        `${t.platformId}-home-${t.platform.store.get('alice')!.volume}`,
        '/home/matrixos/home',
      ],
    ]);
    expect(JSON.stringify(info.Mounts)).not.toContain('docker.sock');
    expect(info.Config.Env.join('\n')).not.toContain(t.adminToken);
  });

  it("cannot open a TCP connection to another tenant's container", async () => {
    expect(await execNode(ids.alice!, tryConnect(ips.bob!, 4000))).not.toBe('connected');
    // ...while the platform (on the host) reaches both.
    expect((await t.instance('bob', { path: '/health' })).status).toBe(200);
  });

  it("cannot reach the platform's API from inside a container", async () => {
    const host = t.runtime.hostAddress();
    expect(await execNode(ids.alice!, tryConnect(host, t.port))).not.toBe('connected');
  });

  it('reaches the instance API with its own token, which serves no admin or other route', async () => {
    const script = `
      const url = process.env.MATRIXOS_PLATFORM_URL;
      const auth = { authorization: 'Bearer ' + process.env.MATRIX_AUTH_TOKEN };
      (async () => {
        const own = await fetch(url + '/instance/v1/jobs/next-due', {
          method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ at: null }) });
        const admin = await fetch(url + '/containers', { headers: auth });
        const health = await fetch(url + '/health', { headers: auth });
        console.log(JSON.stringify({ own: own.status, handle: (await own.json()).handle, admin: admin.status, health: health.status }));
      })().catch((e) => console.log(JSON.stringify({ error: String(e) })));`;
    expect(JSON.parse(await execNode(ids.alice!, script))).toEqual({
      own: 200,
      handle: 'alice',
      admin: 404,
      health: 404,
    });
  });
});
