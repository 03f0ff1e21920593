import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MAIN, uploadInProgress } from '../test/harness.ts';

let home: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'matrixos-main-'));
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await rm(home, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
  exit: Promise<{ code: number | null; at: number }>;
}

/** Runs the real entry point (node src/main.ts) and waits until it listens. */
async function run(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      MATRIXOS_HOME: home,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  const exit = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.once('exit', (code) => resolve({ code, at: Date.now() })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', check);
    exit.then(() => reject(new Error(`gateway exited before listening:\n${output}`)));
  });
  return { child, url, output: () => output, exit };
}

/** Runs main.ts to completion (for configurations that must refuse to start). */
function runToExit(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', MATRIXOS_HOME: home, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) =>
    child.once('exit', (code) => resolve({ code, stderr, ms: Date.now() - started })),
  );
}

describe('main.ts', () => {
  it('refuses to start in platform mode without a token, saying why', async () => {
    const result = await runToExit({ MATRIXOS_MODE: 'platform', MATRIX_HANDLE: 'alice' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/MATRIX_AUTH_TOKEN: required when MATRIXOS_MODE=platform/);
    expect(result.stderr).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack trace
    await expect(stat(join(home, '.matrixos', 'auth-token'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses a home that is not a directory', async () => {
    const result = await runToExit({ MATRIXOS_HOME: '/etc/hostname/home' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/MATRIXOS_HOME \(\/etc\/hostname\/home\) is not a directory/);
  });

  it('single-user: generates a token, prints it only on first boot, and reuses it', async () => {
    const first = await run({});
    const token = (await readFile(join(home, '.matrixos', 'auth-token'), 'utf8')).trim();
    expect(first.output()).toContain(token);
    expect((await readFile(join(home, 'system/profile.md'), 'utf8')).length).toBeGreaterThan(0);
    first.child.kill('SIGTERM');
    expect((await first.exit).code).toBe(0);

    const second = await run({});
    expect(second.output()).not.toContain(token);
    const res = await fetch(`${second.url}/api/system/info`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    second.child.kill('SIGTERM');
    await second.exit;
  });

  it('on SIGTERM: finishes the in-flight upload, closes sockets with 1001, refuses new work, exits 0', async () => {
    const token = 'mxi_shutdown-test-0123456789abcdef';
    const gw = await run({ MATRIX_AUTH_TOKEN: token });
    const { hostname, port } = new URL(gw.url);

    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await new Promise((resolve) => ws.once('message', resolve));
    const wsClosed = new Promise<number>((resolve) => ws.once('close', resolve));

    // A slow upload: half now, the rest after the signal.
    const upload = request({
      host: hostname,
      port,
      method: 'PUT',
      path: '/files/slow.txt',
      headers: { authorization: `Bearer ${token}`, 'content-length': '10' },
    });
    const uploaded = new Promise<number>((resolve, reject) => {
      upload.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      upload.on('error', reject);
    });
    upload.write('hello');
    await uploadInProgress(home);

    const signalledAt = Date.now();
    gw.child.kill('SIGTERM');
    expect(await wsClosed).toBe(1001);
    await expect(fetch(`${gw.url}/health`)).rejects.toThrow();

    upload.end('world');
    expect(await uploaded).toBe(201);
    expect(await readFile(join(home, 'slow.txt'), 'utf8')).toBe('helloworld');

    const { code, at } = await gw.exit;
    expect(code).toBe(0);
    expect(at - signalledAt).toBeLessThan(5_000);
  });

  it('exits within 5 s of SIGTERM even when a request never finishes', async () => {
    const token = 'mxi_shutdown-test-0123456789abcdef';
    const gw = await run({ MATRIX_AUTH_TOKEN: token });
    const { hostname, port } = new URL(gw.url);
    const stuck = request({
      host: hostname,
      port,
      method: 'PUT',
      path: '/files/stuck.txt',
      headers: { authorization: `Bearer ${token}`, 'content-length': '1000000' },
    });
    stuck.on('error', () => {});
    stuck.write('a little');
    await uploadInProgress(home);

    const signalledAt = Date.now();
    gw.child.kill('SIGTERM');
    const { at } = await gw.exit;
    expect(at - signalledAt).toBeLessThan(5_000);
    await expect(stat(join(home, 'stuck.txt'))).rejects.toThrow(/ENOENT/);
    stuck.destroy();
  });
});
