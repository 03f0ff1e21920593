/**
 * `npm start`: the platform and the LLM proxy on this machine, with embedded defaults. When a
 * Docker engine answers, the instance image is built first if it is missing or stale (progress
 * shown); otherwise instances run as local processes. Ctrl-C stops everything started here.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
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
const matrixEnv: Record<string, string> = {};
let exiting = false;
function run(name: string, entry: string, extraEnv: Record<string, string> = {}): void {
  // As the systemd unit and the image: RSS bounded after bursts (docs/benchmarks.md, "Platform memory").
  const child = spawn(process.execPath, ['--max-semi-space-size=8', entry], {
    stdio: 'inherit',
    env: { ...env, ...extraEnv },
  });
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

/**
 * A Matrix homeserver (Synapse in .tools/, SQLite under DATA_DIR/synapse) unless one is configured
 * (MATRIX_HOMESERVER_URL) or it is turned off (MATRIX=off); without Python or PyPI the platform
 * runs without one, and says so.
 */
async function startHomeserver(): Promise<void> {
  if (env.MATRIX_HOMESERVER_URL) {
    console.log(`[start] Matrix: using the homeserver at ${env.MATRIX_HOMESERVER_URL}`);
    return;
  }
  if (env.MATRIX === 'off') {
    console.log('[start] Matrix: off (MATRIX=off): running without a homeserver');
    return;
  }
  const dir = path.resolve(env.DATA_DIR ?? './data', 'synapse');
  const port = env.MATRIX_PORT ?? '8448';
  const platformPort = env.PLATFORM_PORT ?? '9000';
  // Not installed yet (a fresh machine): installing takes a minute; the platform does not wait for
  // it. It installs beside the running platform, and the next `npm start` runs it.
  if (!existsSync(path.resolve('.tools/synapse/version'))) {
    mkdirSync(path.resolve('.tools'), { recursive: true });
    const log = path.resolve('.tools/synapse-install.log');
    const install = spawn('bash', ['scripts/synapse.sh', 'install'], {
      stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')],
      detached: true,
    });
    install.unref();
    console.log(
      `[start] Matrix: installing Synapse in the background (log: ${log}); RUNNING WITHOUT A HOMESERVER until the next npm start`,
    );
    return;
  }
  try {
    console.log('[start] Matrix: preparing Synapse ...');
    execFileSync('bash', ['scripts/synapse.sh', 'config', dir, port, `http://127.0.0.1:${platformPort}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } catch {
    console.log(
      '[start] Matrix: Synapse is not installed and could not be (python3 and PyPI needed): RUNNING WITHOUT A HOMESERVER (no Matrix accounts, /health says not_configured)',
    );
    return;
  }
  rmSync(path.join(dir, 'ready'), { force: true });
  const child = spawn('bash', ['scripts/synapse.sh', 'run', dir], { stdio: 'inherit' });
  services.push(child);
  child.on('exit', (code) => {
    if (!exiting) console.error(`[start] Synapse exited (${code}); Matrix is unavailable until restarted`);
  });
  for (let i = 0; i < 600 && !existsSync(path.join(dir, 'ready')); i++) await sleep(100);
  if (!existsSync(path.join(dir, 'ready'))) {
    console.log('[start] Matrix: Synapse did not come up within 60 s: running without a homeserver');
    return;
  }
  for (const line of readFileSync(path.join(dir, 'matrix.env'), 'utf8').split('\n')) {
    const at = line.indexOf('=');
    const key = line.slice(0, at);
    if (
      [
        'MATRIX_HOMESERVER_URL',
        'MATRIX_SERVER_NAME',
        'MATRIX_REGISTRATION_TOKEN',
        'MATRIX_APPSERVICE_HS_TOKEN',
      ].includes(key)
    )
      matrixEnv[key] = line.slice(at + 1);
  }
  console.log(
    `[start] Matrix: Synapse on ${matrixEnv.MATRIX_HOMESERVER_URL}; users' clients reach it at the platform's /_matrix/`,
  );
}
await startHomeserver();

run('platform', 'packages/platform/src/main.ts', matrixEnv);

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
