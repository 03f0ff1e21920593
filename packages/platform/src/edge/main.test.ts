import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { freePort } from '@matrixos/shared';
import { toolAvailable } from '@matrixos/shared/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { findNginx } from './findNginx.ts';
import {
  ensureInternalCertificate,
  internalFiles,
  loadEdgeConfig,
  readCertificatePair,
  redirectTarget,
} from './main.ts';

const SECRET = 'edge-main-secret-0123';
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const base = { PLATFORM_DOMAIN: 'matrix.test', EDGE_SECRET: SECRET };

describe('loadEdgeConfig', () => {
  it('fills in the defaults of the compose stack', () => {
    expect(loadEdgeConfig(base)).toEqual({
      domain: 'matrix.test',
      platform: { host: '127.0.0.1', port: 9000 },
      listen: { host: '0.0.0.0', port: 443 },
      httpPort: undefined,
      adminPort: 9002,
      secret: SECRET,
      tls: {
        mode: 'wildcard',
        cert: '/etc/matrixos-edge/certs/fullchain.pem',
        key: '/etc/matrixos-edge/certs/privkey.pem',
      },
      dir: '/var/lib/matrixos-edge',
      workers: 'auto',
      certCheckMs: 300_000,
    });
  });

  it.each<[string, Record<string, string>, object]>([
    [
      'internal TLS keeps its CA in the data dir',
      { TLS_MODE: 'internal', EDGE_DIR: '/data' },
      { tls: { mode: 'internal', dir: '/data/tls' } },
    ],
    [
      'the platform by name',
      { EDGE_PLATFORM: 'platform:9100' },
      { platform: { host: 'platform', port: 9100 } },
    ],
    ['the platform on IPv6', { EDGE_PLATFORM: '[::1]:9000' }, { platform: { host: '::1', port: 9000 } }],
    ['an upper-case domain', { PLATFORM_DOMAIN: 'Matrix.TEST' }, { domain: 'matrix.test' }],
    [
      'plain HTTP and a worker count',
      { EDGE_HTTP_PORT: '80', EDGE_WORKERS: '2' },
      { httpPort: 80, workers: 2 },
    ],
    [
      'empty values are unset',
      { EDGE_HTTP_PORT: '', TLS_MODE: '' },
      { httpPort: undefined, tls: { mode: 'wildcard' } },
    ],
    ['no certificate checks', { EDGE_CERT_CHECK_INTERVAL: '0' }, { certCheckMs: 0 }],
  ])('%s', (_, env, expected) => {
    expect(loadEdgeConfig({ ...base, ...env })).toMatchObject(expected);
  });

  it.each<[string, Record<string, string | undefined>, RegExp]>([
    ['no domain', { PLATFORM_DOMAIN: undefined }, /PLATFORM_DOMAIN: required/],
    ['no secret', { EDGE_SECRET: undefined }, /EDGE_SECRET: required/],
    ['a short secret', { EDGE_SECRET: 'short' }, /EDGE_SECRET: must be at least 16/],
    ['a domain with a space', { PLATFORM_DOMAIN: 'a b.test' }, /PLATFORM_DOMAIN: expected a domain/],
    ['a platform without a port', { EDGE_PLATFORM: '127.0.0.1' }, /EDGE_PLATFORM: expected host:port/],
    ['a platform on a bad IPv6 address', { EDGE_PLATFORM: '[zz]:9000' }, /EDGE_PLATFORM: expected host:port/],
    ['another TLS mode', { TLS_MODE: 'on-demand' }, /TLS_MODE: expected wildcard or internal/],
    [
      'a relative certificate path',
      { EDGE_TLS_CERT: 'certs/fullchain.pem' },
      /EDGE_TLS_CERT: expected an absolute path/,
    ],
    ['port 0', { EDGE_PORT: '0' }, /EDGE_PORT: expected a TCP port/],
    [
      'one port twice',
      { EDGE_PORT: '8443', EDGE_ADMIN_PORT: '8443' },
      /EDGE_ADMIN_PORT: 8443 is EDGE_PORT already/,
    ],
  ])('refuses %s, naming the variable', (_, env, message) => {
    expect(() => loadEdgeConfig({ ...base, ...env })).toThrow(message);
  });
});

describe('redirectTarget', () => {
  it.each<[string | undefined, string | undefined, number, string | null]>([
    ['matrix.test', '/', 443, 'https://matrix.test/'],
    ['alice.matrix.test:80', '/files?x=1', 443, 'https://alice.matrix.test/files?x=1'],
    ['ALICE.matrix.test.', '/a', 8443, 'https://alice.matrix.test:8443/a'],
    ['alice.matrix.test', 'http://evil.test/', 443, 'https://alice.matrix.test/'],
    ['alice.matrix.test', '//evil.test/', 443, 'https://alice.matrix.test//evil.test/'],
    ['evil.test', '/', 443, null],
    ['notmatrix.test', '/', 443, null],
    ['evil.test/.matrix.test', '/', 443, null],
    ['[::1]:80', '/', 443, null],
    [undefined, '/', 443, null],
  ])('%s %s (https on %d) -> %s', (host, url, port, expected) => {
    expect(redirectTarget(host, url, 'matrix.test', port)).toBe(expected);
  });
});

describe.skipIf(!toolAvailable('openssl'))('the internal CA', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'matrixos-edge-ca-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const read = (file: string) => new X509Certificate(readFileSync(file));

  it('makes a CA and a wildcard certificate it signed, then keeps both', () => {
    const tlsDir = path.join(dir, 'a');
    expect(ensureInternalCertificate(tlsDir, 'matrix.test').made).toBe('ca and certificate');
    const files = internalFiles(tlsDir);
    const ca = read(files.caCert);
    const leaf = read(files.cert);
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.subjectAltName).toBe('DNS:matrix.test, DNS:*.matrix.test');
    expect(readCertificatePair(files, 'matrix.test').leaf.serialNumber).toBe(leaf.serialNumber);
    expect(ensureInternalCertificate(tlsDir, 'matrix.test').made).toBe('nothing');
    expect(read(files.cert).serialNumber).toBe(leaf.serialNumber);
  });

  it('makes the certificate again near its end, from the same CA', () => {
    const tlsDir = path.join(dir, 'a');
    const files = internalFiles(tlsDir);
    const ca = read(files.caCert);
    const leaf = read(files.cert);
    const nearTheEnd = Date.parse(leaf.validTo) - 86_400_000;
    expect(ensureInternalCertificate(tlsDir, 'matrix.test', nearTheEnd).made).toBe('certificate');
    expect(read(files.caCert).fingerprint256).toBe(ca.fingerprint256);
    expect(read(files.cert).serialNumber).not.toBe(leaf.serialNumber);
    expect(read(files.cert).verify(ca.publicKey)).toBe(true);
  });

  it('makes a new CA for another domain (the old one may sign for its own only)', () => {
    const tlsDir = path.join(dir, 'a');
    const before = read(internalFiles(tlsDir).caCert);
    expect(ensureInternalCertificate(tlsDir, 'other.test').made).toBe('ca and certificate');
    expect(read(internalFiles(tlsDir).caCert).fingerprint256).not.toBe(before.fingerprint256);
    expect(read(internalFiles(tlsDir).cert).subjectAltName).toBe('DNS:other.test, DNS:*.other.test');
  });

  it.each<
    [
      string,
      (
        a: ReturnType<typeof internalFiles>,
        b: ReturnType<typeof internalFiles>,
      ) => { cert: string; key: string },
      string,
      RegExp,
    ]
  >([
    [
      'a missing certificate',
      (a) => ({ cert: `${a.cert}.missing`, key: a.key }),
      'x.test',
      /EDGE_TLS_CERT: cannot read .* \(ENOENT\)/,
    ],
    [
      'a key that is not a key',
      (a) => ({ cert: a.cert, key: a.cert }),
      'x.test',
      /EDGE_TLS_KEY: .* holds no unencrypted PEM private key/,
    ],
    [
      'the key of another certificate',
      (a, b) => ({ cert: a.cert, key: b.key }),
      'x.test',
      /EDGE_TLS_KEY: .* is not the key of/,
    ],
    [
      'a certificate for other names',
      (a) => a,
      'matrix.test',
      /does not name matrix\.test \(it names DNS:x\.test, DNS:\*\.x\.test\)/,
    ],
  ])('refuses %s', (_, pick, domain, message) => {
    ensureInternalCertificate(path.join(dir, 'x'), 'x.test');
    ensureInternalCertificate(path.join(dir, 'y'), 'x.test');
    const files = pick(internalFiles(path.join(dir, 'x')), internalFiles(path.join(dir, 'y')));
    expect(() => readCertificatePair(files, domain)).toThrow(message);
  });
});

function nginxInstalled(): boolean {
  try {
    findNginx();
    return toolAvailable('openssl');
  } catch (err) {
    if (process.env.REQUIRE_TOOLS === '1') throw err;
    return false;
  }
}

/** What the edge presents to a new connection for `name`, verified against `ca`. */
function presented(port: number, name: string, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: name, ca }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.once('error', reject);
  });
}

function get(
  url: string,
  host: string,
  ca?: Buffer,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(
      url,
      { headers: { host }, servername: host.split(':')[0], ca, agent: false } as http.RequestOptions,
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
  });
}

describe.skipIf(!nginxInstalled())('the edge container entry (main.ts), for real', () => {
  let dir: string;
  let child: ChildProcess;
  let output = '';
  let port: number;
  let httpPort: number;
  let adminPort: number;
  let platform: http.Server;
  let instance: http.Server;
  let sockets: WebSocketServer;
  const first = () => internalFiles(path.join(dir, 'first'));
  const second = () => internalFiles(path.join(dir, 'second'));
  const served = () => internalFiles(path.join(dir, 'served'));
  const admin = (method: string, p: string, body?: string) =>
    fetch(`http://127.0.0.1:${adminPort}${p}`, {
      method,
      body,
      headers: { authorization: `Bearer ${SECRET}` },
    });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'matrixos-edge-main-'));
    // Two certificates from two CAs: the one served first, then its "renewal".
    ensureInternalCertificate(path.join(dir, 'first'), 'matrix.test');
    ensureInternalCertificate(path.join(dir, 'second'), 'matrix.test');
    mkdirSync(path.join(dir, 'served'));
    cpSync(first().cert, served().cert);
    cpSync(first().key, served().key);

    platform = http.createServer((_, res) => res.end('platform'));
    instance = http.createServer((_, res) => res.end('instance'));
    sockets = new WebSocketServer({ server: instance });
    sockets.on('connection', (ws) => ws.on('message', (m) => ws.send(String(m))));
    await new Promise<void>((r) => platform.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => instance.listen(0, '127.0.0.1', r));
    [port, httpPort, adminPort] = [await freePort(), await freePort(), await freePort()];
    child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        LOG_LEVEL: 'info',
        PLATFORM_DOMAIN: 'matrix.test',
        EDGE_PLATFORM: `127.0.0.1:${(platform.address() as AddressInfo).port}`,
        EDGE_HOST: '127.0.0.1',
        EDGE_PORT: String(port),
        EDGE_HTTP_PORT: String(httpPort),
        EDGE_ADMIN_PORT: String(adminPort),
        EDGE_SECRET: SECRET,
        TLS_MODE: 'wildcard',
        EDGE_TLS_CERT: served().cert,
        EDGE_TLS_KEY: served().key,
        EDGE_DIR: path.join(dir, 'edge'),
        EDGE_WORKERS: '1',
        EDGE_CERT_CHECK_INTERVAL: '200ms',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c) => (output += c));
    child.stderr!.on('data', (c) => (output += c));
    await vi.waitFor(() => expect(output).toContain('edge listening'), { timeout: 20_000, interval: 50 });
  }, 60_000);
  afterAll(async () => {
    if (child?.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    for (const ws of sockets?.clients ?? []) ws.terminate();
    platform?.close();
    instance?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the platform over TLS and redirects plain HTTP to https', async () => {
    const ca = readFileSync(first().caCert);
    expect((await get(`https://127.0.0.1:${port}/`, 'matrix.test', ca)).body).toBe('platform');
    const redirect = await get(`http://127.0.0.1:${httpPort}/files?x=1`, 'alice.matrix.test');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe(`https://alice.matrix.test:${port}/files?x=1`);
    expect((await get(`http://127.0.0.1:${httpPort}/`, 'evil.test')).status).toBe(404);
  });

  it('picks up a renewed certificate by itself, keeping routes and open sockets', async () => {
    const instancePort = (instance.address() as AddressInfo).port;
    expect((await admin('PUT', '/routes/alice', `127.0.0.1:${instancePort}`)).status).toBe(204);
    const ca1 = readFileSync(first().caCert);
    expect((await get(`https://127.0.0.1:${port}/`, 'alice.matrix.test', ca1)).body).toBe('instance');
    // ws hands servername (SNI, and the name verified) on to tls.connect.
    const options: WebSocket.ClientOptions & { servername: string } = {
      headers: { host: 'alice.matrix.test' },
      servername: 'alice.matrix.test',
      ca: ca1,
    };
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, options);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));

    // A renewal as lego or certbot would leave it: the key, then the certificate, replaced.
    cpSync(second().key, `${served().key}.new`);
    cpSync(second().cert, `${served().cert}.new`);
    renameSync(`${served().key}.new`, served().key);
    renameSync(`${served().cert}.new`, served().cert);
    const ca2 = readFileSync(second().caCert);
    const renewed = new X509Certificate(readFileSync(second().cert)).fingerprint256;
    await vi.waitFor(async () => expect(await presented(port, 'alice.matrix.test', ca2)).toBe(renewed), {
      timeout: 10_000,
      interval: 100,
    });
    expect(output).toContain('"why":"certificate check"');

    const echoed = new Promise((resolve) => ws.once('message', (m) => resolve(String(m))));
    ws.send('still here');
    expect(await echoed).toBe('still here');
    expect(await (await admin('GET', '/routes')).json()).toEqual({ alice: `127.0.0.1:${instancePort}` });
    ws.close();
  });

  it('reloads on SIGHUP and stops on SIGTERM', async () => {
    const reloads = () => output.split('"msg":"edge reloaded"').length - 1;
    const before = reloads();
    child.kill('SIGHUP');
    await vi.waitFor(() => expect(reloads()).toBe(before + 1), { timeout: 10_000, interval: 50 });
    expect(output).toContain('"why":"SIGHUP"');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${adminPort}/routes`)).rejects.toThrow();
  });
});
