import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, newToken } from '@matrixos/shared';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface ProxyProcessOptions {
  /** Where `/v1/*` goes: the stand-in's URL. */
  upstreamUrl: string;
  /** The platform's key the proxy sends upstream (`ANTHROPIC_API_KEY`). */
  platformKey: string;
  /** The admin token it shares with the platform. */
  adminToken: string;
  /** Address to bind; containers need `0.0.0.0` (default loopback). */
  host?: string;
  /** `BUDGET_WEBHOOK_URL`, when a test wants the notices. */
  webhookUrl?: string;
  /** Reuse a data directory (a restart after a crash); `close` then leaves it in place. */
  dir?: string;
  /** Listen on this port (a restart where instances already have its URL); default a free one. */
  port?: number;
  /** More settings (`MAX_INFLIGHT_PER_USER`, `BODY_TIMEOUT`...). */
  env?: Record<string, string>;
}

export interface ProxyProcess {
  url: string;
  port: number;
  pid: number;
  /** Its data directory (give it as `dir` to start it again on the same database). */
  dir: string;
  /** Sends a signal (`SIGKILL`: a crash) and waits for the process to be gone. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Registers an instance as the platform does; returns its proxy token. */
  register(handle: string): Promise<string>;
  /** `POST /quotas/{handle}` as the platform's admin. */
  quota(handle: string, limits: Record<string, number | null>): Promise<void>;
  /** Stops the process (and waits for it), keeping its database. */
  stop(): Promise<void>;
  /** Stops it and deletes its data. */
  close(): Promise<void>;
}

/**
 * The real LLM proxy for other packages' tests: `packages/proxy/src/main.ts` as its own process,
 * with its own SQLite file in a temporary directory, in front of `upstreamUrl`.
 */
export async function startProxyProcess(o: ProxyProcessOptions): Promise<ProxyProcess> {
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'matrixos-proxy-')));
  const port = o.port ?? (await freePort());
  const child: ChildProcess = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      PROXY_PORT: String(port),
      PROXY_HOST: o.host ?? '127.0.0.1',
      DATA_DIR: dir,
      ANTHROPIC_UPSTREAM_URL: o.upstreamUrl,
      ANTHROPIC_API_KEY: o.platformKey,
      PLATFORM_ADMIN_TOKEN: o.adminToken,
      ...(o.webhookUrl ? { BUDGET_WEBHOOK_URL: o.webhookUrl } : {}),
      LOG_LEVEL: 'warn',
      ...o.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const url = `http://127.0.0.1:${port}`;
  for (let waited = 0; ; waited += 50) {
    const up = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (child.exitCode !== null || waited > 20_000) throw new Error(`the proxy did not start:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const admin = async (method: string, path: string, body: unknown) => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${o.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  };
  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  };
  const stop = () => kill('SIGTERM');
  return {
    url,
    port,
    pid: child.pid!,
    dir,
    kill,
    async register(handle) {
      const token = newToken('mxp');
      await admin('PUT', `/keys/${handle}`, { token });
      return token;
    },
    quota: (handle, limits) => admin('POST', `/quotas/${handle}`, limits),
    stop,
    async close() {
      await stop();
      if (!o.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
