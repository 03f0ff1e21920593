import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProxyProcess, startUpstreamStandIn } from '@matrixos/proxy/testing';
import { createLogger, freePort, loadSecretKey, newToken } from '@matrixos/shared';
import { TEST_INSTANCE_IMAGE } from '@matrixos/shared/testing';
import { loadConfig } from '../src/config.ts';
import { openDb } from '../src/db/openDb.ts';
import { startNginxEdge } from '../src/edge/startNginxEdge.ts';
import { createProxyClient } from '../src/llm/proxyClient.ts';
import { createPlatform, type Platform } from '../src/platform.ts';
import { createDockerDriver } from '../src/runtime/docker/dockerDriver.ts';
import type { RuntimeDriver } from '../src/runtime/driver.ts';
import { diskQuota } from '../src/runtime/index.ts';
import { createProcessDriver } from '../src/runtime/process/processDriver.ts';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: <T = Record<string, unknown>>() => T;
}

export interface RequestOptions {
  method?: string;
  path?: string;
  host?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | object;
}

/** A plain HTTP request to 127.0.0.1 with any Host header (Node's resolver knows no *.localhost). */
export function httpRequest(port: number, opts: RequestOptions = {}): Promise<Reply> {
  const body =
    opts.body === undefined
      ? undefined
      : typeof opts.body === 'string' || Buffer.isBuffer(opts.body)
        ? opts.body
        : JSON.stringify(opts.body);
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.host) headers.host = opts.host;
  if (
    body !== undefined &&
    !headers['content-type'] &&
    typeof opts.body === 'object' &&
    !Buffer.isBuffer(opts.body)
  ) {
    headers['content-type'] = 'application/json';
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export interface TestPlatformOptions {
  runtime: 'docker' | 'process' | 'swarm';
  /** A driver made by the test (swarm: its cluster's engines); else one of `runtime`. */
  driver?: (platformId: string) => RuntimeDriver;
  /** Defaults to a free one (the public URL carries it: redirects, origin checks, WebAuthn). */
  port?: number;
  env?: Record<string, string>;
  /** Reuse these to "restart" a platform over the same data. */
  dataDir?: string;
  platformId?: string;
  adminToken?: string;
  /** The process driver's instance command (default: the real gateway). */
  command?: string[];
  /** The platform's clock (tests of expiry move it forward). */
  clock?: () => number;
  /** An LLM proxy to register instance keys with (its admin API; the admin token is shared). */
  proxyAdminUrl?: string;
  /** Wraps the runtime driver the platform uses (to count or observe its calls). */
  wrapRuntime?: (driver: RuntimeDriver) => RuntimeDriver;
}

export type TestPlatform = Awaited<ReturnType<typeof startTestPlatform>>;

/**
 * A real platform in this process: real SQLite file, real engine (Docker or processes), real
 * HTTP listener on a free port. Unique platform id, so parallel test files never meet.
 */
export async function startTestPlatform(opts: TestPlatformOptions) {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'matrixos-test-'));
  const platformId = opts.platformId ?? `t${randomBytes(4).toString('hex')}`;
  const adminToken = opts.adminToken ?? newToken('mxa');
  const config = loadConfig({
    DATA_DIR: dataDir,
    PLATFORM_ID: platformId,
    PLATFORM_PORT: String(opts.port ?? (await freePort())),
    PLATFORM_DOMAIN: 'localhost',
    RUNTIME: opts.runtime,
    WAKE_TIMEOUT: '30s',
    // The image the global setup built for this run (parallel checkouts each build their own tag).
    INSTANCE_IMAGE: TEST_INSTANCE_IMAGE,
    // Any free port: parallel test platforms each have their own instance API.
    INSTANCE_API_PORT: '0',
    ...opts.env,
  });
  const log = createLogger(`test-${platformId}`, process.env.LOG_LEVEL ?? 'silent');
  const driver: RuntimeDriver = opts.driver
    ? opts.driver(platformId)
    : opts.runtime === 'docker'
      ? createDockerDriver({
          platformId,
          network: config.dockerNetwork,
          log,
          stopGraceMs: 3000,
          disks: diskQuota(config.disk, log),
        })
      : createProcessDriver({ dataDir, platformId, command: opts.command, log, stopGraceMs: 3000 });
  const runtime = opts.wrapRuntime ? opts.wrapRuntime(driver) : driver;
  await runtime.init();
  const { key } = loadSecretKey(undefined, path.join(dataDir, 'platform.key'));
  const db = openDb(path.join(dataDir, 'platform.db'));
  const platform: Platform = createPlatform({
    config,
    db,
    runtime,
    secretKey: key,
    clock: opts.clock,
    llm: opts.proxyAdminUrl ? createProxyClient({ baseUrl: opts.proxyAdminUrl, adminToken }) : undefined,
    adminToken,
    log,
  });
  const { port, reconciled } = await platform.listen(config.port, '127.0.0.1');
  const handlesSeen = new Set<string>();
  const tokens = new Map<string, string>();

  const t = {
    platform,
    runtime,
    config,
    port,
    dataDir,
    platformId,
    adminToken,
    reconciled,
    request: (o: RequestOptions = {}) => httpRequest(port, o),
    /** An admin API call. */
    admin: (method: string, p: string, body?: object) =>
      httpRequest(port, { method, path: p, body, headers: { authorization: `Bearer ${adminToken}` } }),
    /** Provisions and returns the instance token; fails the test on anything but 201. */
    async provision(handle: string): Promise<string> {
      handlesSeen.add(handle);
      const r = await t.admin('POST', '/containers/provision', { handle });
      if (r.status !== 201) throw new Error(`provision ${handle}: ${r.status} ${r.text}`);
      const token = r.json<{ token: string }>().token;
      tokens.set(handle, token);
      return token;
    },
    /**
     * A request to `{handle}.localhost` through the router, with the instance's token unless the
     * options carry their own Authorization (or `anonymous`).
     */
    instance: (handle: string, o: RequestOptions & { anonymous?: boolean } = {}) => {
      const token = tokens.get(handle);
      const auth: Record<string, string> =
        !o.anonymous && token && !o.headers?.authorization ? { authorization: `Bearer ${token}` } : {};
      return httpRequest(port, {
        ...o,
        headers: { ...auth, ...o.headers },
        host: `${handle}.localhost:${port}`,
      });
    },
    /** The instance token a provision through this harness returned. */
    tokenOf: (handle: string) => tokens.get(handle),
    /** The process driver's home directory of a handle's current instance (its volume's key). */
    homeOf(handle: string): string {
      const row = platform.store.get(handle);
      return path.join(dataDir, 'homes', row?.volume ?? handle);
    },
    /** Stops this platform object (instances keep running), as a restart would. */
    async stop(): Promise<void> {
      await platform.close();
      db.$client.close();
    },
    /** Removes everything this platform made: instances, their data, its directory. */
    async destroy(): Promise<void> {
      await t.stop().catch(() => undefined);
      for (const rt of await runtime.list()) {
        handlesSeen.add(rt.handle);
        await runtime.remove(rt.id).catch(() => undefined);
      }
      for (const h of handlesSeen) await runtime.removeVolume(h).catch(() => undefined);
      // Volumes are named by generation (`{handle}_{id}`): every one this platform made goes.
      for (const v of await runtime.listVolumes().catch(() => []))
        await runtime.removeVolume(v).catch(() => undefined);
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    track(handle: string): void {
      handlesSeen.add(handle);
    },
  };
  return t;
}

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;

/** The platform as its own process (`main.ts`), for what only a real process can show: a kill. */
export async function spawnPlatform(
  env: Record<string, string>,
): Promise<{ port: number; child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [MAIN], {
    // No LLM proxy runs beside these: provisioning must not wait for one.
    env: {
      ...process.env,
      PLATFORM_PORT: '0',
      INSTANCE_API_PORT: '0',
      LOG_LEVEL: 'info',
      PROXY_ADMIN_URL: 'none',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (c) => {
    output += c;
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`platform did not start:\n${output}`)), 20_000);
    child.stdout?.on('data', (c: Buffer) => {
      output += c;
      const m = /"port":(\d+)[^\n]*"msg":"platform listening"/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`platform exited (${code}):\n${output}`)));
  });
  return { port, child, output: () => output };
}

/** The Anthropic key the platform's proxy holds in these tests (the stand-in accepts only it). */
export const PLATFORM_KEY = 'sk-platform-key';

/**
 * A test platform with the real LLM proxy (its own process) in front of the Anthropic stand-in,
 * wired as in production: shared admin token, instance keys registered at provision, budget
 * notices posted back to the platform.
 */
export async function startTestPlatformWithProxy(opts: TestPlatformOptions & { proxyHost?: string }) {
  const upstream = await startUpstreamStandIn({ apiKeys: [PLATFORM_KEY] });
  const adminToken = opts.adminToken ?? newToken('mxa');
  const port = opts.port ?? (await freePort());
  const proxy = await startProxyProcess({
    upstreamUrl: upstream.url,
    platformKey: PLATFORM_KEY,
    adminToken,
    host: opts.proxyHost,
    webhookUrl: `http://127.0.0.1:${port}/internal/budget-notices`,
  });
  const t = await startTestPlatform({
    ...opts,
    port,
    adminToken,
    proxyAdminUrl: proxy.url,
    env: { ...opts.env, PROXY_PORT: String(proxy.port) },
  });
  return {
    t,
    proxy,
    upstream,
    async close(): Promise<void> {
      await proxy.close();
      await t.destroy();
      await upstream.close();
    },
  };
}

/**
 * A test platform behind the native edge (deploy/edge, real nginx), wired as in the compose stack:
 * its public URL is the edge's, it trusts the edge's X-Forwarded-*, and pushes routes to it.
 */
export async function startTestPlatformBehindEdge(opts: TestPlatformOptions) {
  const port = opts.port ?? (await freePort());
  const edgePort = await freePort();
  const secret = newToken('mxe');
  const dir = mkdtempSync(path.join(tmpdir(), 'matrixos-native-edge-'));
  const edge = await startNginxEdge({
    domain: 'localhost',
    platform: { host: '127.0.0.1', port },
    listen: { host: '127.0.0.1', port: edgePort },
    adminPort: await freePort(),
    secret,
    dir,
    workers: 1,
  });
  const t = await startTestPlatform({
    ...opts,
    port,
    env: {
      PUBLIC_URL: `http://localhost:${edgePort}`,
      TRUST_PROXY: 'true',
      EDGE_ADMIN_URL: edge.adminUrl,
      EDGE_SECRET: secret,
      ...opts.env,
    },
  });
  return {
    t,
    edge,
    edgePort,
    /** The routes the edge holds now (its admin API). */
    async routes(): Promise<Record<string, string>> {
      const r = await fetch(`${edge.adminUrl}/routes`, { headers: { authorization: `Bearer ${secret}` } });
      return (await r.json()) as Record<string, string>;
    },
    async close(): Promise<void> {
      await t.destroy();
      await edge.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The driver with its event stream cut: what the platform sees when the engine's events are down
 * or late, so that the request path's own recovery (not the event-driven one) is what a test proves.
 */
export function withoutEvents(driver: RuntimeDriver): RuntimeDriver {
  return new Proxy(driver, {
    get: (target, key) => (key === 'watch' ? () => () => undefined : Reflect.get(target, key)),
  });
}
