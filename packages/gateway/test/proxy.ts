import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newToken } from '@matrixos/shared';

const PROXY_MAIN = fileURLToPath(new URL('../../proxy/src/main.ts', import.meta.url));
export const PLATFORM_KEY = 'sk-ant-platform-key-for-gateway-tests';
const ADMIN_TOKEN = 'admin-token-for-gateway-tests-0123456789';

export interface TestProxy {
  url: string;
  /** Registers an instance as the platform does; returns its proxy token. */
  register(handle: string): Promise<string>;
  /** POST /quotas/{handle} as the platform's admin. */
  quota(handle: string, limits: Record<string, number | null>): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The real LLM proxy (`packages/proxy`, its own process and SQLite file) in front of `upstreamUrl`. */
export async function startProxy(upstreamUrl: string): Promise<TestProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-proxy-'));
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [PROXY_MAIN], {
    env: {
      PATH: process.env.PATH,
      PROXY_PORT: String(port),
      PROXY_HOST: '127.0.0.1',
      DATA_DIR: dir,
      ANTHROPIC_UPSTREAM_URL: upstreamUrl,
      ANTHROPIC_API_KEY: PLATFORM_KEY,
      PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const url = `http://127.0.0.1:${port}`;
  for (let waited = 0; ; waited += 100) {
    const up = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (child.exitCode !== null || waited > 20_000) throw new Error(`the proxy did not start:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const admin = async (method: string, path: string, body: unknown) => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  };
  return {
    url,
    async register(handle) {
      const token = newToken('mxp');
      await admin('PUT', `/keys/${handle}`, { token });
      return token;
    },
    quota: (handle, limits) => admin('POST', `/quotas/${handle}`, limits),
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
