/**
 * The live services `scripts/fuzz-api.sh` fuzzes, each on a free loopback port over temporary
 * data: `platform` (RUNTIME=process), `gateway` (its real main, single-user), `proxy` (in front
 * of the Anthropic stand-in). Prints one JSON line, `{name: {url, auth, headers}}`, once all
 * answer, then holds them until SIGTERM or SIGINT, and removes everything it made.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProxyProcess, startUpstreamStandIn } from '@matrixos/proxy/testing';
import { freePort, newToken } from '@matrixos/shared';
import { startBotApiStandIn } from '../packages/gateway/test/telegram/botApiStandIn.ts';

interface Service {
  url: string;
  /** What schemathesis sends as `Authorization`. */
  auth: string;
  /** Other headers every request carries. */
  headers: Record<string, string>;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const names = process.argv.slice(2);
const known = ['platform', 'gateway', 'proxy'];
for (const n of names) {
  if (known.includes(n)) continue;
  process.stderr.write(`fuzz-services: unknown service "${n}" (known: ${known.join(', ')})\n`);
  process.exit(2);
}

const cleanups: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];

function fail(message: string): never {
  throw new Error(message);
}

async function tempDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `matrixos-fuzz-${name}-`));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A service's own main as a child process; its output goes to `log` for the report. */
function start(entry: string, env: Record<string, string>, log: string): ChildProcess {
  const child = spawn(process.execPath, [join(root, entry)], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[${log}] ${d}`));
  children.push(child);
  return child;
}

async function waitUp(url: string, child: ChildProcess, name: string): Promise<void> {
  for (let waited = 0; waited < 30_000; waited += 100) {
    if (child.exitCode !== null) fail(`${name} exited (${child.exitCode}) before answering`);
    const up = await fetch(`${url}/health`).then(
      (r) => r.status < 500,
      () => false,
    );
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`${name} did not answer ${url}/health within 30 s`);
}

/**
 * The platform with the process runtime, in this process (the tests' harness: temporary data,
 * free port, everything it made removed on close). Its instances are the router tests' small
 * stand-in, not the gateway: they start in a fraction of the time, so the fuzz spends its time
 * on the control plane's API instead of waiting for instances (the gateway is fuzzed on its own).
 */
async function platform(): Promise<Service> {
  const { startTestPlatform } = await import('../packages/platform/test/harness.ts');
  const fixture = join(root, 'packages/platform/test/fixtures/streamingInstance.ts');
  const t = await startTestPlatform({ runtime: 'process', command: [process.execPath, fixture] });
  cleanups.unshift(() => t.destroy());
  // The control plane's writes must come from its own origin (PUBLIC_URL is http://localhost:PORT).
  const origin = t.config.publicUrl.origin;
  return {
    url: `http://127.0.0.1:${t.port}`,
    auth: `Bearer ${t.adminToken}`,
    headers: { Origin: origin, Cookie: await signedUp(t.port, origin) },
  };
}

/**
 * A user's session for the `/me` routes (the admin token opens the rest): a sign-up with an
 * authenticator app, as the page does it. Only the access cookie: without the refresh token the
 * fuzz cannot rotate it, so the session lasts the run (unless the fuzz signs it out).
 */
async function signedUp(port: number, origin: string): Promise<string> {
  const { totpCodeAt } = await import('../packages/platform/src/accounts/totp.ts');
  const post = (path: string, body: object) =>
    fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const options = await post('/auth/signup/totp/options', { handle: 'fuzzer' });
  if (!options.ok) fail(`sign-up options: ${options.status} ${await options.text()}`);
  const { flowId, secret } = (await options.json()) as { flowId: string; secret: string };
  const verified = await post('/auth/signup/totp/verify', { flowId, code: totpCodeAt(secret, Date.now()) });
  if (verified.status !== 201) fail(`sign-up: ${verified.status} ${await verified.text()}`);
  const access = verified.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('mx_access='));
  if (!access) fail('sign-up set no access cookie');
  return access;
}

async function gateway(): Promise<Service> {
  const port = await freePort();
  const token = newToken('mxi');
  const url = `http://127.0.0.1:${port}`;
  // Telegram at the wire: a token the fuzz makes up gets Telegram's 401, never api.telegram.org.
  const telegram = await startBotApiStandIn(`1:${newToken('x')}`);
  cleanups.push(() => telegram.close());
  const child = start(
    'packages/gateway/src/main.ts',
    {
      PORT: String(port),
      HOST: '127.0.0.1',
      MATRIXOS_HOME: await tempDir('home'),
      MATRIXOS_MODE: 'single',
      MATRIX_AUTH_TOKEN: token,
      MATRIX_HANDLE: 'fuzz',
      // Nothing listens there: the settings' model list fails at once instead of going online.
      ANTHROPIC_BASE_URL: `http://127.0.0.1:${await freePort()}`,
      TELEGRAM_API_ROOT: telegram.url,
    },
    'gateway',
  );
  await waitUp(url, child, 'gateway');
  return { url, auth: `Bearer ${token}`, headers: {} };
}

async function proxy(): Promise<Service> {
  const upstream = await startUpstreamStandIn();
  cleanups.push(() => upstream.close());
  const p = await startProxyProcess({
    upstreamUrl: upstream.url,
    platformKey: 'sk-ant-fuzz-platform-key',
    adminToken: newToken('mxa'),
  });
  cleanups.unshift(() => p.close());
  return { url: p.url, auth: `Bearer ${await p.register('fuzz')}`, headers: {} };
}

const starters: Record<string, () => Promise<Service>> = { platform, gateway, proxy };

let closing = false;
async function close(code: number): Promise<void> {
  if (closing) return;
  closing = true;
  for (const c of cleanups)
    await c().catch((err: Error) => process.stderr.write(`cleanup: ${err.message}\n`));
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  clearInterval(hold);
  process.exit(code);
}
process.on('SIGTERM', () => void close(0));
process.on('SIGINT', () => void close(0));
// Held until fuzz-api.sh sends SIGTERM.
const hold = setInterval(() => undefined, 1 << 30);

try {
  const services: Record<string, Service> = {};
  for (const name of names) services[name] = await starters[name]!();
  process.stdout.write(`${JSON.stringify(services)}\n`);
} catch (err) {
  process.stderr.write(`fuzz-services: ${(err as Error).message}\n`);
  await close(2);
}
