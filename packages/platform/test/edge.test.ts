import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '@matrixos/shared';
import { toolAvailable } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestPlatform, type TestPlatform } from './harness.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/streamingInstance.ts', import.meta.url));
const SITES = fileURLToPath(new URL('../../../deploy/caddy/sites.caddy', import.meta.url));

/** An HTTPS request to the edge as a browser for `name` would make it (SNI and Host). */
function viaEdge(
  port: number,
  name: string,
  p: string,
  token = '',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port,
        path: p,
        servername: name,
        headers: { host: `${name}:${port}`, authorization: `Bearer ${token}` },
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
  });
}

/** The shipped Caddy site config, for real, in front of the platform (internal CA instead of ACME). */
describe.skipIf(!toolAvailable('caddy'))('Caddy edge (deploy/caddy)', () => {
  let t: TestPlatform;
  let caddy: ChildProcess;
  let httpsPort: number;
  let dir: string;

  beforeAll(async () => {
    t = await startTestPlatform({
      runtime: 'process',
      command: [process.execPath, FIXTURE],
      env: { TRUST_PROXY: 'true' },
    });
    await t.provision('alice');
    dir = mkdtempSync(path.join(tmpdir(), 'matrixos-caddy-'));
    httpsPort = await freePort();
    const httpPort = await freePort();
    writeFileSync(
      path.join(dir, 'Caddyfile'),
      `{
	admin off
	local_certs
	skip_install_trust
	http_port ${httpPort}
	https_port ${httpsPort}
	on_demand_tls {
		ask http://127.0.0.1:${t.port}/tls/ask
	}
}
import ${SITES}
`,
    );
    caddy = spawn('caddy', ['run', '--config', path.join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
      env: {
        ...process.env,
        PLATFORM_UPSTREAM: `127.0.0.1:${t.port}`,
        XDG_DATA_HOME: dir,
        XDG_CONFIG_HOME: dir,
        HOME: dir,
      },
      stdio: 'ignore',
    });
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = await new Promise<boolean>((resolve) => {
        const s = createServer();
        s.once('error', () => resolve(true)); // taken: Caddy listens
        s.listen(httpsPort, '127.0.0.1', () => s.close(() => resolve(false)));
      });
      if (!up) await sleep(100);
    }
    // Not a silent fall-through into tests against nothing.
    if (!up) throw new Error(`Caddy did not listen on ${httpsPort} within 10 s`);
  });
  afterAll(async () => {
    caddy?.kill('SIGTERM');
    await t?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves an existing instance over HTTPS, telling it the scheme and client', async () => {
    const r = await viaEdge(httpsPort, 'alice.localhost', '/headers', t.tokenOf('alice'));
    expect(r.status).toBe(200);
    const { headers } = JSON.parse(r.body) as { headers: Record<string, string> };
    expect(headers['x-forwarded-proto']).toBe('https');
    expect(headers['x-forwarded-host']).toBe(`alice.localhost:${httpsPort}`);
    expect(headers['x-forwarded-for']).toMatch(/^127\.0\.0\.1, 127\.0\.0\.1$/);
  });

  it('gets no certificate for a name that is no instance', async () => {
    await expect(viaEdge(httpsPort, 'nobody.localhost', '/health')).rejects.toThrow(/alert|SSL|socket/i);
  });

  it('carries WebSockets (wss) to the instance', async () => {
    const options: WebSocket.ClientOptions & { servername: string } = {
      servername: 'alice.localhost',
      headers: { host: `alice.localhost:${httpsPort}`, authorization: `Bearer ${t.tokenOf('alice')}` },
      rejectUnauthorized: false,
    };
    const ws = new WebSocket(`wss://127.0.0.1:${httpsPort}/ws`, options);
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('message', (d) => resolve(d.toString()));
      ws.once('error', reject);
    });
    expect(JSON.parse(first)).toMatchObject({ hello: 'alice' });
    ws.close();
  });

  it('answers the ask endpoint: yes for the platform and instances, no for the rest', async () => {
    for (const [name, status] of [
      ['localhost', 200],
      ['app.localhost', 200],
      ['alice.localhost', 200],
      ['bob.localhost', 404],
      ['a.alice.localhost', 404],
      ['evil.example', 404],
    ] as const) {
      expect((await t.request({ path: `/tls/ask?domain=${name}` })).status, name).toBe(status);
    }
  });
});
