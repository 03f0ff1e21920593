/**
 * `npm start`: the platform and the LLM proxy on this machine, with embedded defaults. When a
 * Docker engine answers, the instance image is built first if it is missing or stale (progress
 * shown); otherwise instances run as local processes. Ctrl-C stops everything started here.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';

const env = process.env;
const runtime = env.RUNTIME ?? 'auto';
const engine =
  runtime !== 'process' &&
  (await new Docker().ping().then(
    () => true,
    () => false,
  ));
if (runtime === 'docker' && !engine) {
  console.error(
    'RUNTIME=docker but no Docker engine answers on /var/run/docker.sock. Start it (dockerd) or use RUNTIME=process.',
  );
  process.exit(1);
}
if (engine) {
  console.log('[start] Docker engine found: checking the instance image ...');
  execFileSync('bash', ['scripts/build-image.sh', '--if-stale'], { stdio: 'inherit' });
  // The disk quota per volume is a loop mount, which needs root: on a developer's machine run
  // without it (and say so) rather than not at all. Production sets it up (docs/deployment.md).
  if (env.INSTANCE_DISK === undefined && process.getuid?.() !== 0) {
    env.INSTANCE_DISK = '0';
    console.log('[start] not root: user volumes get no disk quota (INSTANCE_DISK=0)');
  }
}

const services: ChildProcess[] = [];
let exiting = false;
function run(name: string, entry: string, extraEnv: Record<string, string> = {}): void {
  const child = spawn(process.execPath, [entry], { stdio: 'inherit', env: { ...env, ...extraEnv } });
  services.push(child);
  child.on('exit', (code, signal) => {
    if (exiting) return;
    exiting = true;
    console.error(`[start] ${name} exited (${signal ?? code}); stopping the others`);
    for (const other of services) if (other !== child) other.kill('SIGTERM');
    process.exitCode = code ?? 1;
  });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    exiting = true;
    for (const child of services) child.kill(signal);
  });
}

run('platform', 'packages/platform/src/main.ts');

// The proxy's admin API takes the platform's admin token: the platform's own, once it has one.
const dataDir = path.resolve(env.DATA_DIR ?? './data');
let adminToken = env.PLATFORM_ADMIN_TOKEN;
for (let i = 0; !adminToken && i < 600 && !exiting; i++) {
  const file = path.join(dataDir, 'admin-token');
  if (existsSync(file)) adminToken = readFileSync(file, 'utf8').trim() || undefined;
  else await sleep(50);
}
if (!exiting) {
  run('proxy', 'packages/proxy/src/main.ts', {
    ...(adminToken ? { PLATFORM_ADMIN_TOKEN: adminToken } : {}),
    DATA_DIR: dataDir,
    BUDGET_WEBHOOK_URL:
      env.BUDGET_WEBHOOK_URL ?? `http://127.0.0.1:${env.PLATFORM_PORT ?? 9000}/internal/budget-notices`,
  });
}
