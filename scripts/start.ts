/**
 * `npm start`: the platform on this machine with embedded defaults. When a Docker engine
 * answers, the instance image is built first if it is missing or stale (progress shown);
 * otherwise instances run as local processes. Ctrl-C stops everything started here.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import Docker from 'dockerode';

const runtime = process.env.RUNTIME ?? 'auto';
const engine = runtime !== 'process' && (await new Docker().ping().then(() => true, () => false));
if (runtime === 'docker' && !engine) {
  console.error('RUNTIME=docker but no Docker engine answers on /var/run/docker.sock. Start it (dockerd) or use RUNTIME=process.');
  process.exit(1);
}
if (engine) {
  console.log('[start] Docker engine found: checking the instance image ...');
  execFileSync('bash', ['scripts/build-image.sh', '--if-stale'], { stdio: 'inherit' });
}

const services: ChildProcess[] = [spawn(process.execPath, ['packages/platform/src/main.ts'], { stdio: 'inherit', env: process.env })];
let exiting = false;
for (const child of services) {
  child.on('exit', (code, signal) => {
    if (exiting) return;
    exiting = true;
    console.error(`[start] a service exited (${signal ?? code}); stopping the others`);
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
