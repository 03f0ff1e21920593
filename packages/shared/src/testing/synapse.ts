import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../freePort.ts';

const SCRIPT = fileURLToPath(new URL('../../../../scripts/synapse.sh', import.meta.url));

export interface TestSynapse {
  url: string;
  serverName: string;
  registrationToken: string;
  hsToken: string;
  /** The platform env that points at it (MATRIX_*). */
  env: Record<string, string>;
  /** Makes `@localpart` with the registration token (what the platform does at sign-up). */
  register(localpart: string): Promise<{ userId: string; accessToken: string; deviceId: string }>;
  /** A client-server API call as `token`. */
  call(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Stops it (its data stays until `destroy`). */
  stop(): void;
  start(): void;
  destroy(): void;
}

/**
 * A real Synapse (scripts/synapse.sh) on a free loopback port, with SQLite in a temporary
 * directory; `appserviceUrl` registers the platform as its appservice. Null when it cannot be
 * installed (no PyPI) and REQUIRE_TOOLS is not 1; under REQUIRE_TOOLS=1 that throws.
 */
export async function startSynapse(opts: { appserviceUrl?: string } = {}): Promise<TestSynapse | null> {
  try {
    execFileSync('bash', [SCRIPT, 'install'], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (err) {
    if (process.env.REQUIRE_TOOLS === '1')
      throw new Error(`REQUIRE_TOOLS=1 but Synapse did not install: ${err}`);
    console.warn(
      '[tests] Synapse is not installed: the Matrix tests are skipped (set REQUIRE_TOOLS=1 to fail)',
    );
    return null;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'matrixos-synapse-'));
  const port = await freePort();
  execFileSync(
    'bash',
    [SCRIPT, 'config', dir, String(port), ...(opts.appserviceUrl ? [opts.appserviceUrl] : [])],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, SYNAPSE_BCRYPT_ROUNDS: '4' },
    },
  );
  const start = () =>
    execFileSync('bash', [SCRIPT, 'start', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const stop = () => execFileSync('bash', [SCRIPT, 'stop', dir], { stdio: 'ignore' });
  start();
  const env = Object.fromEntries(
    readFileSync(path.join(dir, 'matrix.env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  ) as Record<string, string>;
  const url = env.MATRIX_HOMESERVER_URL as string;
  const call = async (method: string, p: string, body?: unknown, token?: string) => {
    const r = await fetch(`${url}${p}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  return {
    call,
    async register(localpart) {
      const req = { username: localpart, password: `pw-${localpart}-0123456789` };
      const first = await call('POST', '/_matrix/client/v3/register', req);
      const session = first.body.session;
      await call('POST', '/_matrix/client/v3/register', {
        ...req,
        auth: { type: 'm.login.registration_token', token: env.MATRIX_REGISTRATION_TOKEN, session },
      });
      // Synapse asks for a dummy stage after the token.
      const done = await call('POST', '/_matrix/client/v3/register', {
        ...req,
        auth: { type: 'm.login.dummy', session },
      });
      if (done.status !== 200)
        throw new Error(`register ${localpart}: ${done.status} ${JSON.stringify(done.body)}`);
      return {
        userId: String(done.body.user_id),
        accessToken: String(done.body.access_token),
        deviceId: String(done.body.device_id),
      };
    },
    url,
    serverName: env.MATRIX_SERVER_NAME as string,
    registrationToken: env.MATRIX_REGISTRATION_TOKEN as string,
    hsToken: env.MATRIX_APPSERVICE_HS_TOKEN as string,
    env: {
      MATRIX_HOMESERVER_URL: url,
      MATRIX_SERVER_NAME: env.MATRIX_SERVER_NAME as string,
      MATRIX_REGISTRATION_TOKEN: env.MATRIX_REGISTRATION_TOKEN as string,
      ...(opts.appserviceUrl ? { MATRIX_APPSERVICE_HS_TOKEN: env.MATRIX_APPSERVICE_HS_TOKEN as string } : {}),
    },
    stop,
    start,
    destroy() {
      stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
