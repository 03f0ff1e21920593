import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@matrixos/shared';
import { createApp, type Gateway } from '../src/app.ts';
import { type GatewayConfig, loadConfig } from '../src/config.ts';
import { seedHome } from '../src/home/seed.ts';
import { listen, type RunningGateway, SERVER_LIMITS, type ServerLimits } from '../src/server.ts';

export const TEMPLATE_DIR = fileURLToPath(new URL('../template/', import.meta.url));
export const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
export const SHELL_DIR = fileURLToPath(new URL('../shell/', import.meta.url));

export interface TestGateway {
  url: string;
  home: string;
  token: string;
  gateway: Gateway;
  running: RunningGateway;
  /** fetch with the owner's token. */
  api(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/**
 * A real gateway on loopback over a fresh, seeded temporary home; or over `reuse.home` (a
 * restart), which is then left in place on close. `reuse.token` replaces the test token;
 * `reuse.limits` the server's limits; `reuse.now` the clock activity and passes are read from;
 * `reuse.reportEveryMs` the interval of activity reports to the platform.
 */
export async function startGateway(
  overrides: Partial<GatewayConfig> = {},
  reuse: {
    home?: string;
    token?: string;
    limits?: ServerLimits;
    now?: () => number;
    jobs?: boolean;
    reportEveryMs?: number;
  } = {},
): Promise<TestGateway> {
  const limits = reuse.limits ?? SERVER_LIMITS;
  const home = reuse.home ?? (await mkdtemp(join(tmpdir(), 'matrixos-home-')));
  if (!reuse.home) await seedHome(home, TEMPLATE_DIR);
  const config = { ...loadConfig({ MATRIXOS_HOME: home, HOST: '127.0.0.1', PORT: '0' }), ...overrides };
  const token = reuse.token ?? 'mxi_test-token-0123456789abcdef';
  const gateway = await createApp({
    config,
    log: createLogger('gateway-test'),
    token,
    shellDir: SHELL_DIR,
    ...(reuse.now ? { now: reuse.now } : {}),
    ...(reuse.reportEveryMs ? { reportEveryMs: reuse.reportEveryMs } : {}),
  });
  const running = await listen(gateway, config, limits);
  // Only the tests of jobs start the scheduler (it checks each job's module in a child process).
  if (reuse.jobs) await gateway.jobs.start({ watch: false });
  return {
    url: running.url,
    home,
    token,
    gateway,
    running,
    api: (path, init = {}) =>
      fetch(running.url + path, {
        ...init,
        headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
      }),
    async close() {
      await running.shutdown(1_000);
      await gateway.jobs.close();
      if (!reuse.home) await rm(home, { recursive: true, force: true });
    },
  };
}

/** A request whose path goes on the wire exactly as written (fetch would normalise `..` away). */
export function rawRequest(
  gw: Pick<TestGateway, 'url' | 'token'>,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; json: { error?: { code: string } } | null }> {
  const { hostname, port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: hostname, port, method, path, headers: { authorization: `Bearer ${gw.token}` } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          let json = null;
          try {
            json = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode!, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A clock that moves only when told: activity times differ exactly when something touched them. */
export function manualClock(start = Date.parse('2026-12-01T12:00:00Z')) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

/** Resolves once an upload's hidden temp file exists in `dir`: the route is streaming the body. */
export async function uploadInProgress(dir: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await readdir(dir)).some((n) => n.startsWith('.upload-'))) {
    if (Date.now() > deadline) throw new Error(`no upload in progress in ${dir}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
