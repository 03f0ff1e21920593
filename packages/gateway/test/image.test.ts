import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { dockerAvailable, TEST_INSTANCE_IMAGE } from '@matrixos/shared/testing';
import { afterAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const suffix = randomBytes(4).toString('hex');
const created = { containers: [] as string[], volumes: [] as string[] };

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', args, { maxBuffer: 10 * 1024 * 1024 });
  return stdout.trim();
}

/** Runs the image detached, its port published on loopback; health checked every second. */
async function runInstance(name: string, args: string[] = []): Promise<{ name: string; url: string }> {
  const full = `mxgw-test-${name}-${suffix}`;
  created.containers.push(full);
  await docker(
    'run',
    '-d',
    '--name',
    full,
    '--health-interval',
    '1s',
    '-p',
    '127.0.0.1::4000',
    ...args,
    TEST_INSTANCE_IMAGE,
  );
  const port = (await docker('port', full, '4000/tcp')).split('\n')[0]!.split(':').pop();
  return { name: full, url: `http://127.0.0.1:${port}` };
}

async function waitHealthy(name: string, timeoutMs = 30_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const status = await docker('inspect', '-f', '{{.State.Health.Status}}', name);
    if (status === 'healthy') return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`${name} is ${status} after ${timeoutMs} ms:\n${await docker('logs', name)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

const volume = (name: string) => {
  const full = `mxgw-test-${name}-${suffix}`;
  created.volumes.push(full);
  return full;
};

afterAll(async () => {
  if (created.containers.length) await docker('rm', '-f', '-v', ...created.containers).catch(() => '');
  if (created.volumes.length) await docker('volume', 'rm', '-f', ...created.volumes).catch(() => '');
});

describe.skipIf(!(await dockerAvailable()))('instance image', () => {
  it('runs the gateway as the unprivileged node user and becomes healthy', async () => {
    const { name, url } = await runInstance('health');
    const ms = await waitHealthy(name);
    expect(await docker('exec', name, 'id', '-u')).toBe('1000');
    expect(await docker('inspect', '-f', '{{.Config.User}}', name)).toBe('node');
    const health = await (await fetch(`${url}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', handle: 'owner' });
    console.info(`[image] healthy ${ms} ms after docker run`);
    // The shell's files made it into the bundle: the sign-in page and its script.
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('id="signin-form"');
    expect((await fetch(`${url}/shell/main.js`)).status).toBe(200);
  });

  it('fills a fresh volume from the template, and keeps data and token across re-creation', async () => {
    const vol = volume('home');
    const first = await runInstance('persist-1', ['-v', `${vol}:/home/matrixos/home`]);
    await waitHealthy(first.name);
    const token = await docker('exec', first.name, 'cat', '/home/matrixos/home/.matrixos/auth-token');
    expect(await docker('logs', first.name)).toContain(token);
    const auth = { authorization: `Bearer ${token}` };

    const profile = await fetch(`${first.url}/api/profile`, { headers: auth });
    expect(await profile.text()).toMatch(/^# About me/);
    const put = await fetch(`${first.url}/files/notes/keep.md`, {
      method: 'PUT',
      headers: auth,
      body: 'still here',
    });
    expect(put.status).toBe(201);
    await docker('rm', '-f', '-v', first.name);

    const second = await runInstance('persist-2', ['-v', `${vol}:/home/matrixos/home`]);
    await waitHealthy(second.name);
    expect(await docker('logs', second.name)).not.toContain(token);
    const kept = await fetch(`${second.url}/files/notes/keep.md`, { headers: auth });
    expect(kept.status).toBe(200);
    expect(await kept.text()).toBe('still here');
  });

  it('refuses to start in platform mode without a token', async () => {
    const name = `mxgw-test-platform-${suffix}`;
    created.containers.push(name);
    const result = await exec('docker', [
      'run',
      '--name',
      name,
      '-e',
      'MATRIXOS_MODE=platform',
      '-e',
      'MATRIX_HANDLE=alice',
      TEST_INSTANCE_IMAGE,
    ]).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/MATRIX_AUTH_TOKEN: required when MATRIXOS_MODE=platform/);
  });

  it("runs under the platform's hardening (read-only root, no capabilities, uid 1000) and stops fast", async () => {
    const vol = volume('hardened');
    const { name, url } = await runInstance('hardened', [
      ...['--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges'],
      ...['--user', '1000:1000', '--memory', '256m', '--cpus', '0.5', '--pids-limit', '128'],
      ...[
        '-e',
        'MATRIXOS_MODE=platform',
        '-e',
        'MATRIX_HANDLE=alice',
        '-e',
        'MATRIX_AUTH_TOKEN=mxi_image-test-0123456789abcdef',
      ],
      ...['-v', `${vol}:/home/matrixos/home`],
    ]);
    await waitHealthy(name);
    const info = await fetch(`${url}/api/system/info`, {
      headers: { authorization: 'Bearer mxi_image-test-0123456789abcdef' },
    });
    expect(await info.json()).toMatchObject({ handle: 'alice', mode: 'platform' });

    await new Promise((r) => setTimeout(r, 3_000));
    const memory = await docker('stats', '--no-stream', '--format', '{{.MemUsage}}', name);
    console.info(`[image] idle memory under the platform's limits: ${memory}`);
    expect(memory).toMatch(/MiB/);
    expect(Number.parseFloat(memory)).toBeLessThan(128);

    const started = Date.now();
    await docker('stop', '-t', '10', name);
    const stopMs = Date.now() - started;
    expect(await docker('inspect', '-f', '{{.State.ExitCode}}', name)).toBe('0');
    expect(stopMs).toBeLessThan(5_000);
    console.info(`[image] docker stop took ${stopMs} ms`);
  });
});
