import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@matrixos/shared';
import type { Endpoint } from '../runtime/driver.ts';
import { findNginx } from './findNginx.ts';
import { renderNginxEdgeConfig } from './renderNginxEdgeConfig.ts';

const LUA_DIR = fileURLToPath(new URL('../../../../deploy/edge/lua/', import.meta.url));
const READY_WITHIN_MS = 10_000;

export interface NginxEdgeOptions {
  /** Instances answer on `{handle}.{domain}`. */
  domain: string;
  /** The platform's router; a name is resolved once, here. */
  platform: Endpoint;
  /** Where browsers connect; all interfaces unless `host` says otherwise. */
  listen: { host?: string; port: number };
  /** PEM files: a wildcard certificate for `*.{domain}` that also names `{domain}`, and its key. */
  tls?: { cert: string; key: string };
  /** The admin API's port, on 127.0.0.1. */
  adminPort: number;
  /** What the admin API wants as `Authorization: Bearer` (16 characters or more). */
  secret: string;
  /** nginx's prefix: its config, lua code, pid, error.log and buffered bodies go here. */
  dir: string;
  /** nginx `worker_processes` (default `auto`: one per core). */
  workers?: number | 'auto';
  log?: Logger;
}

export interface NginxEdge {
  /** Where browsers reach it (`https://` with `tls`), e.g. to send `Host: {handle}.{domain}` to. */
  url: string;
  /** The admin API (createNginxEdgeRoutes). */
  adminUrl: string;
  /** `nginx -s reload`: the certificate read again; routes and open connections kept. */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs the native edge (deploy/edge) as a child process: renders its config into `dir`, starts
 * nginx in the foreground, and resolves once both listeners answer.
 */
export async function startNginxEdge(opts: NginxEdgeOptions): Promise<NginxEdge> {
  const nginx = findNginx();
  if (opts.secret.length < 16) throw new Error('edge: the admin secret must be 16 characters or more');
  const platformIp = net.isIP(opts.platform.host)
    ? opts.platform.host
    : (await lookup(opts.platform.host)).address;
  const listenHost = opts.listen.host ?? '0.0.0.0';
  const admin = { host: '127.0.0.1', port: opts.adminPort };
  mkdirSync(path.join(opts.dir, 'lua'), { recursive: true });
  mkdirSync(path.join(opts.dir, 'tmp'), { recursive: true });
  // Started as root, nginx's workers run as `nobody`: they write buffered bodies under tmp/.
  if (process.getuid?.() === 0) chmodSync(opts.dir, 0o711);
  for (const f of readdirSync(LUA_DIR)) copyFileSync(path.join(LUA_DIR, f), path.join(opts.dir, 'lua', f));
  writeFileSync(
    path.join(opts.dir, 'nginx.conf'),
    renderNginxEdgeConfig({
      domain: opts.domain,
      platform: { host: platformIp, port: opts.platform.port },
      listen: { host: listenHost, port: opts.listen.port },
      tls: opts.tls,
      admin,
      workers: opts.workers ?? 'auto',
      modules: nginx.modules,
    }),
  );

  const child = spawn(nginx.bin, ['-p', `${path.resolve(opts.dir)}/`, '-c', 'nginx.conf'], {
    env: { ...process.env, EDGE_ADMIN_SECRET: opts.secret },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
    opts.log?.warn({ nginx: chunk.toString().trim() }, 'edge');
  });
  let exited = false;
  let stopping = false;
  const gone = new Promise<void>((resolve) => {
    const done = (why: object) => {
      exited = true;
      if (!stopping) opts.log?.error({ ...why, stderr: stderr.slice(-2000) }, 'edge: nginx exited');
      resolve();
    };
    child.once('exit', (code, signal) => done({ code, signal }));
    child.once('error', (err) => done({ err }));
  });

  const adminUrl = `http://${admin.host}:${admin.port}`;
  const dialHost = listenHost === '0.0.0.0' ? '127.0.0.1' : listenHost === '::' ? '::1' : listenHost;
  const dialAt = net.isIPv6(dialHost) ? `[${dialHost}]` : dialHost;
  const url = `${opts.tls ? 'https' : 'http'}://${dialAt}:${opts.listen.port}`;

  const errorLog = () => {
    const file = path.join(opts.dir, 'error.log');
    return existsSync(file) ? readFileSync(file, 'utf8').slice(-2000) : '';
  };
  const answers = async () => {
    const res = await fetch(`${adminUrl}/routes`, {
      headers: { authorization: `Bearer ${opts.secret}` },
      signal: AbortSignal.timeout(1000),
    });
    await res.body?.cancel();
    return res.status === 200 && (await accepts(dialHost, opts.listen.port));
  };
  const waitUntilAnswers = async (what: string) => {
    const deadline = Date.now() + READY_WITHIN_MS;
    while (!exited && Date.now() < deadline) {
      if (await answers().catch(() => false)) return;
      await sleep(25);
    }
    throw new Error(`edge: nginx ${exited ? 'exited' : 'did not answer'} ${what}\n${stderr}${errorLog()}`);
  };

  const stop = async () => {
    stopping = true;
    if (exited) return;
    // Fast shutdown: a graceful one would wait for every open WebSocket to close.
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(killer);
  };
  try {
    await waitUntilAnswers('after starting');
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    adminUrl,
    async reload() {
      const before = new Set(workersOf(child.pid!));
      child.kill('SIGHUP');
      // Reloaded once a new generation of workers runs (the old ones may linger with open sockets).
      const deadline = Date.now() + READY_WITHIN_MS;
      while (!workersOf(child.pid!).some((pid) => !before.has(pid))) {
        if (exited || Date.now() > deadline)
          throw new Error(`edge: nginx did not reload\n${stderr}${errorLog()}`);
        await sleep(25);
      }
      await waitUntilAnswers('after reloading');
    },
    stop,
  };
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** nginx's worker processes: the master's children. */
function workersOf(master: number): number[] {
  const file = `/proc/${master}/task/${master}/children`;
  return existsSync(file) ? readFileSync(file, 'utf8').split(' ').filter(Boolean).map(Number) : [];
}
