import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, freePort } from '@matrixos/shared';
import { selfSignedCert, toolAvailable } from '@matrixos/shared/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createNginxEdgeRoutes } from './createNginxEdgeRoutes.ts';
import { findNginx } from './findNginx.ts';
import { type NginxEdge, startNginxEdge } from './startNginxEdge.ts';

const DOMAIN = 'matrix.test';
const SECRET = 'test-secret-'.repeat(3);
const log = createLogger('edge-test', 'silent');

/** Like toolAvailable: skipped without nginx and its lua module, failed under REQUIRE_TOOLS=1. */
function nginxInstalled(): boolean {
  try {
    findNginx();
    return true;
  } catch (err) {
    if (process.env.REQUIRE_TOOLS === '1') throw err;
    console.warn(
      `[tests] ${(err as Error).message}: the edge's tests are skipped (set REQUIRE_TOOLS=1 to fail)`,
    );
    return false;
  }
}

/** What an instance might set: a harmless cookie or two among ones aimed at the platform. */
const SET_COOKIES: [string, boolean][] = [
  ['theme=dark; Path=/', true],
  ['sid=x; Path=/; HttpOnly; SameSite=Lax; Max-Age=60', true],
  ['mx_domainless=1; Path=/domain', true],
  ['mx_access=evil; Path=/', false],
  ['mx_refresh=evil', false],
  ['mx_instance=evil; Path=/', false],
  ['mx_pass=evil; Path=/', false],
  ['__Host-mx_pass=evil; Secure; Path=/', false],
  ['__Host-mx_access=evil; Secure; Path=/', false],
  ['__Secure-mx_refresh=evil; Secure', false],
  ['__host-MX_ACCESS=evil; Secure; Path=/', false],
  [' mx_access =evil', false],
  ['theme=dark; Domain=localhost', false],
  ['theme=dark; domain=.matrix.test; Path=/', false],
  ['theme=dark; Path=/;   DOMAIN = matrix.test', false],
];

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A stand-in instance (or platform): records what reaches it, answers with its name, `.../cookies`
 * with SET_COOKIES and Clear-Site-Data, `/events` and `/.well-known/matrixos/wake` with an event
 * stream held open; WebSockets say its name, then echo.
 */
async function standIn(name: string) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      if (req.url!.endsWith('/cookies')) {
        res.writeHead(200, [
          ['clear-site-data', '"cookies"'],
          ...SET_COOKIES.map(([c]) => ['set-cookie', c] as [string, string]),
        ]);
        res.end(name);
      } else if (req.url === '/events' || req.url === '/.well-known/matrixos/wake') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`event: progress\ndata: ${name}\n\n`);
        const later = setTimeout(() => res.write('event: progress\ndata: later\n\n'), 200);
        res.once('close', () => clearTimeout(later));
      } else {
        res.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': name });
        res.end(name);
      }
    });
  });
  const wss = new WebSocketServer({ server });
  wss.on('headers', (headers) => {
    for (const [c] of SET_COOKIES) headers.push(`Set-Cookie: ${c}`);
  });
  wss.on('connection', (ws) => {
    ws.send(name);
    ws.on('message', (m) => ws.send(m));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    name,
    seen,
    endpoint: { host: '127.0.0.1', port: (server.address() as AddressInfo).port },
    close() {
      for (const ws of wss.clients) ws.terminate();
      server.closeAllConnections();
      server.close();
    },
  };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request to the edge as a browser on `host` would send it. */
function send(
  edge: NginxEdge,
  host: string,
  p: string,
  opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: Buffer } = {},
): Promise<Answer> {
  const url = new URL(p, edge.url);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: opts.method ?? 'GET',
        headers: { host, ...opts.headers },
        servername: host.split(':')[0],
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** What an event stream sent in its first second (buffered on the way, it would be nothing). */
function firstSecondOf(edge: NginxEdge, host: string, p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL(p, edge.url), { headers: { host }, agent: false }, (res) => {
      let got = '';
      res.on('data', (c) => (got += c));
      setTimeout(() => {
        req.destroy();
        resolve(got);
      }, 1000);
    });
    req.on('error', reject);
  });
}

function openSocket(
  edge: NginxEdge,
  host: string,
  p = '/ws',
): Promise<{ ws: WebSocket; hello: string; upgrade: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(new URL(p, edge.url.replace(/^http/, 'ws')), {
      headers: { host },
      rejectUnauthorized: false,
    });
    let upgrade: http.IncomingMessage;
    ws.once('upgrade', (res) => (upgrade = res));
    ws.once('message', (m) => resolve({ ws, hello: String(m), upgrade }));
    ws.once('error', reject);
  });
}

function echoes(ws: WebSocket): Promise<boolean> {
  return new Promise((resolve) => {
    if (ws.readyState !== WebSocket.OPEN) return resolve(false);
    const timer = setTimeout(() => resolve(false), 5000);
    ws.once('message', (m) => {
      clearTimeout(timer);
      resolve(String(m) === 'ping');
    });
    ws.send('ping');
  });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A fetch of the admin API with some secret (or none). */
function admin(edge: NginxEdge, method: string, p: string, body?: string, secret: string | null = SECRET) {
  return fetch(`${edge.adminUrl}${p}`, {
    method,
    body,
    headers: secret === null ? {} : { authorization: `Bearer ${secret}` },
  }).then(async (r) => ({ status: r.status, text: await r.text() }));
}

describe.skipIf(!nginxInstalled())('the nginx edge (deploy/edge)', () => {
  let edge: NginxEdge;
  let dir: string;
  let platform: Awaited<ReturnType<typeof standIn>>;
  let a: Awaited<ReturnType<typeof standIn>>;
  let b1: Awaited<ReturnType<typeof standIn>>;
  let b2: Awaited<ReturnType<typeof standIn>>;
  let routes: ReturnType<typeof createNginxEdgeRoutes>;

  beforeAll(async () => {
    [platform, a, b1, b2] = await Promise.all([
      standIn('platform'),
      standIn('a'),
      standIn('b1'),
      standIn('b2'),
    ]);
    dir = mkdtempSync(path.join(tmpdir(), 'matrixos-edge-'));
    // Two workers: routes set through one are seen by the other (one shared dict).
    edge = await startNginxEdge({
      domain: DOMAIN,
      platform: { host: 'localhost', port: platform.endpoint.port },
      listen: { host: '127.0.0.1', port: await freePort() },
      adminPort: await freePort(),
      secret: SECRET,
      dir,
      workers: 2,
      log,
    });
    routes = createNginxEdgeRoutes({ adminUrl: edge.adminUrl, secret: SECRET, log });
  });
  afterAll(async () => {
    await edge?.stop();
    for (const s of [platform, a, b1, b2]) s?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await routes.replaceAll(new Map([['alice', a.endpoint]]));
    platform.seen.length = 0;
    a.seen.length = 0;
  });

  it('serves a published route straight from the instance, on any port and in any case', async () => {
    for (const host of ['alice.matrix.test', 'alice.matrix.test:8443', 'ALICE.Matrix.Test']) {
      const res = await send(edge, host, '/x?y=1');
      expect([res.status, res.body]).toEqual([200, 'a']);
    }
    expect(a.seen.map((s) => [s.url, s.headers.host])).toEqual([
      ['/x?y=1', 'alice.matrix.test'],
      ['/x?y=1', 'alice.matrix.test:8443'],
      ['/x?y=1', 'ALICE.Matrix.Test'],
    ]);
    expect(platform.seen).toEqual([]);
  });

  it('hands the platform an unknown handle, a withdrawn route, /.well-known/matrixos/ and every other host', async () => {
    await routes.publish('bob', b1.endpoint);
    expect((await send(edge, 'bob.matrix.test', '/')).body).toBe('b1');
    await routes.withdraw('bob');
    const asks: [string, string][] = [
      ['nobody.matrix.test', '/'],
      ['bob.matrix.test', '/'],
      ['alice.matrix.test', '/.well-known/matrixos/bridge?token=t'],
      ['alice.matrix.test', '/.well-known/matrixos/refresh'],
      ['matrix.test', '/proxy/alice/x'],
      ['app.matrix.test', '/'],
      ['alice.other.test', '/'],
      ['a.b.matrix.test', '/'],
    ];
    for (const [host, p] of asks) expect((await send(edge, host, p)).body, `${host}${p}`).toBe('platform');
    expect(platform.seen.map((s) => [s.headers.host, s.url])).toEqual(asks);
    expect(a.seen).toEqual([]);
  });

  it('sends a request the route address refuses to the platform, a POST with its body intact', async () => {
    const dead = await freePort();
    await routes.publish('carol', { host: '127.0.0.1', port: dead });
    expect((await send(edge, 'carol.matrix.test', '/page')).body).toBe('platform');
    const body = randomBytes(1 << 20);
    const res = await send(edge, 'carol.matrix.test', '/upload', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    expect(res.body).toBe('platform');
    expect(platform.seen.map((s) => [s.method, s.url])).toEqual([
      ['GET', '/page'],
      ['POST', '/upload'],
    ]);
    expect(sha256(platform.seen[1]!.body)).toBe(sha256(body));
  });

  it('passes a request body to the instance whole', async () => {
    const body = randomBytes(3 << 20);
    await send(edge, 'alice.matrix.test', '/upload', { method: 'PUT', body });
    expect(sha256(a.seen[0]!.body)).toBe(sha256(body));
  });

  it('strips the platform cookies on the way to the instance and keeps the pass and the rest', async () => {
    const cookie = [
      'mx_access=1',
      '__Host-mx_access=2',
      'mx_refresh=3',
      '__Host-mx_refresh=4',
      'mx_instance=5',
      '__Host-mx_instance=6',
      'mx_pass=p',
      '__Host-mx_pass=q',
      'theme=dark',
      'mx_other=7',
    ].join('; ');
    await send(edge, 'alice.matrix.test', '/', { headers: { cookie } });
    await send(edge, 'alice.matrix.test', '/', { headers: { cookie: 'mx_access=only' } });
    await send(edge, 'nobody.matrix.test', '/', { headers: { cookie } });
    expect(a.seen.map((s) => s.headers.cookie)).toEqual([
      'mx_pass=p; __Host-mx_pass=q; theme=dark; mx_other=7',
      undefined,
    ]);
    // The platform strips them itself, and needs its own where it answers.
    expect(platform.seen[0]!.headers.cookie).toBe(cookie);
  });

  it('replaces X-Forwarded-* and drops hop-by-hop headers, on both paths', async () => {
    const headers = {
      forwarded: 'for=6.6.6.6;proto=https',
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.test',
      'x-forwarded-port': '1',
      'x-forwarded-prefix': '/evil',
      connection: 'keep-alive, x-hop',
      'x-hop': 'secret',
      'proxy-authorization': 'Basic eA==',
      'proxy-connection': 'keep-alive',
      upgrade: 'h2c',
    };
    await send(edge, 'alice.matrix.test:8443', '/', { headers });
    await send(edge, 'nobody.matrix.test:8443', '/', { headers });
    const port = new URL(edge.url).port;
    for (const seen of [a.seen[0]!, platform.seen[0]!]) {
      const h = seen.headers;
      expect(h['x-forwarded-for']).toBe('127.0.0.1');
      expect(h['x-forwarded-proto']).toBe('http');
      expect(h['x-forwarded-host']).toBe(h.host);
      expect(h['x-forwarded-port']).toBe(port);
      for (const name of [
        'forwarded',
        'x-forwarded-prefix',
        'proxy-authorization',
        'proxy-connection',
        'upgrade',
      ])
        expect(h[name], name).toBeUndefined();
    }
    expect(a.seen[0]!.headers['x-hop']).toBeUndefined();
  });

  it('drops Set-Cookie for platform names, the pass and any Domain, and Clear-Site-Data, from the instance', async () => {
    const res = await send(edge, 'alice.matrix.test', '/cookies');
    expect(res.body).toBe('a');
    expect(res.headers['set-cookie']).toEqual(SET_COOKIES.filter(([, ok]) => ok).map(([c]) => c));
    expect(res.headers['clear-site-data']).toBeUndefined();
    const { ws, upgrade } = await openSocket(edge, 'alice.matrix.test');
    expect(upgrade.headers['set-cookie']).toEqual(SET_COOKIES.filter(([, ok]) => ok).map(([c]) => c));
    ws.close();
    // The platform's answers are its own (it sets the pass at the bridge).
    const fromPlatform = await send(edge, 'alice.matrix.test', '/.well-known/matrixos/cookies');
    expect(fromPlatform.headers['set-cookie']).toEqual(SET_COOKIES.map(([c]) => c.trim()));
    expect(fromPlatform.headers['clear-site-data']).toBe('"cookies"');
  });

  it('streams events unbuffered and carries WebSockets, to the instance and to the platform', async () => {
    const [direct, woken] = await Promise.all([
      firstSecondOf(edge, 'alice.matrix.test', '/events'),
      firstSecondOf(edge, 'alice.matrix.test', '/.well-known/matrixos/wake'),
    ]);
    expect(direct).toBe('event: progress\ndata: a\n\nevent: progress\ndata: later\n\n');
    expect(woken).toBe('event: progress\ndata: platform\n\nevent: progress\ndata: later\n\n');
    const toInstance = await openSocket(edge, 'alice.matrix.test');
    const toPlatform = await openSocket(edge, 'nobody.matrix.test');
    expect([toInstance.hello, toPlatform.hello]).toEqual(['a', 'platform']);
    expect([await echoes(toInstance.ws), await echoes(toPlatform.ws)]).toEqual([true, true]);
    toInstance.ws.close();
    toPlatform.ws.close();
  });

  it('refuses an admin call without the secret, or with another', async () => {
    for (const secret of [null, 'wrong', `${SECRET}x`, SECRET.slice(0, -1)]) {
      const res = await admin(edge, 'PUT', '/routes/mallory', `127.0.0.1:${a.endpoint.port}`, secret);
      expect(res.status).toBe(401);
    }
    expect((await admin(edge, 'GET', '/routes', undefined, 'wrong')).status).toBe(401);
    expect((await send(edge, 'mallory.matrix.test', '/')).body).toBe('platform');
  });

  it.each([
    ['PUT', '/routes/alice', 'nonsense'],
    ['PUT', '/routes/alice', ''],
    ['PUT', '/routes/alice', 'localhost:8080'],
    ['PUT', '/routes/alice', '10.0.0.1'],
    ['PUT', '/routes/alice', '10.0.0.1:0'],
    ['PUT', '/routes/alice', '10.0.0.1:65536'],
    ['PUT', '/routes/alice', '10.0.0.256:80'],
    ['PUT', '/routes/alice', '::1:80'],
    ['PUT', '/routes/alice', '[::g]:80'],
    ['PUT', '/routes/alice', '10.0.0.1:80 10.0.0.2:80'],
    ['PUT', '/routes/Alice', '10.0.0.1:80'],
    ['PUT', '/routes/al', '10.0.0.1:80'],
    ['PUT', '/routes/app', '10.0.0.1:80'],
    ['PUT', '/routes/a--b', '10.0.0.1:80'],
    ['DELETE', '/routes/-x-', undefined],
    ['PUT', '/routes', 'nonsense'],
    ['PUT', '/routes', '["alice"]'],
    ['PUT', '/routes', '{"alice": 1}'],
    ['PUT', '/routes', '{"alice": "10.0.0.1:80",}'],
    ['PUT', '/routes', '{"alice": "10.0.0.1:80"} x'],
    ['PUT', '/routes', '{"alice": "10.0.0.1:80", "alice": "10.0.0.2:80"}'],
    ['PUT', '/routes', '{"alice": "10.0.0.1:80", "WWW": "10.0.0.2:80"}'],
    ['PUT', '/routes', '{"alice": "10.0.0.1:80", "bob": "bob:80"}'],
  ])('refuses %s %s %j with 400, changing nothing', async (method, p, body) => {
    const res = await admin(edge, method, p, body);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).error.code).toMatch(/^bad_/);
    expect(JSON.parse((await admin(edge, 'GET', '/routes')).text)).toEqual({
      alice: `127.0.0.1:${a.endpoint.port}`,
    });
  });

  it('answers 404, 405 and 413 where they apply', async () => {
    expect((await admin(edge, 'GET', '/nope')).status).toBe(404);
    expect((await admin(edge, 'GET', '/routes/alice')).status).toBe(405);
    expect((await admin(edge, 'DELETE', '/routes')).status).toBe(405);
    expect((await admin(edge, 'PUT', '/routes', `{"alice":"${'1'.repeat(5 << 20)}"}`)).status).toBe(413);
  });

  it('keeps IPv6 routes as the balancer takes them', async () => {
    await routes.publish('bob', { host: '::1', port: 1 });
    expect(JSON.parse((await admin(edge, 'GET', '/routes')).text).bob).toBe('[::1]:1');
    expect((await send(edge, 'bob.matrix.test', '/')).body).toBe('platform');
  });

  it('replaces the whole set without a moment in which a route present in both is missing', async () => {
    // Sets large enough that replacing one takes a while, requests for alice all along.
    const set = (prefix: string) =>
      new Map([
        ['alice', a.endpoint],
        ...Array.from({ length: 2000 }, (_, i) => [`${prefix}${i}`, b1.endpoint] as const),
      ]);
    let stop = false;
    const served: string[] = [];
    const hammers = Array.from({ length: 8 }, async () => {
      while (!stop) served.push((await send(edge, 'alice.matrix.test', '/')).body);
    });
    // At least 20 replacements, and as many as it takes for 200 requests to land among them.
    let last = '';
    for (let i = 0; i < 20 || served.length < 200; i++) {
      last = i % 2 ? 'odd' : 'even';
      await routes.replaceAll(set(last));
    }
    stop = true;
    await Promise.all(hammers);
    expect(served.filter((by) => by !== 'a')).toEqual([]);
    const now = JSON.parse((await admin(edge, 'GET', '/routes')).text);
    expect(Object.keys(now)).toHaveLength(2001);
    const gone = last === 'odd' ? 'even' : 'odd';
    expect([now.alice, now[`${last}0`], now[`${gone}0`]]).toEqual([
      `127.0.0.1:${a.endpoint.port}`,
      `127.0.0.1:${b1.endpoint.port}`,
      undefined,
    ]);
    expect((await send(edge, `${gone}0.matrix.test`, '/')).body).toBe('platform');
  });

  it('holds 500 WebSockets while a route flips 100 times, and new requests follow each flip', async () => {
    await routes.publish('bob', b1.endpoint);
    const sockets: { ws: WebSocket; hello: string }[] = [];
    let dropped = 0;
    for (let i = 0; i < 500; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          openSocket(edge, (i + j) % 2 ? 'bob.matrix.test' : 'alice.matrix.test'),
        ),
      );
      for (const s of batch) s.ws.once('close', () => dropped++);
      sockets.push(...batch);
    }
    const followed: string[] = [];
    for (let i = 0; i < 100; i++) {
      const to = i % 2 ? b1 : b2;
      await routes.publish('bob', to.endpoint);
      const res = await send(edge, 'bob.matrix.test', '/');
      followed.push(res.body === to.name ? 'followed' : `${res.body} instead of ${to.name}`);
    }
    expect(followed).toEqual(Array(100).fill('followed'));
    const answered = await Promise.all(sockets.map((s) => echoes(s.ws)));
    expect(dropped).toBe(0);
    expect(answered.filter(Boolean)).toHaveLength(500);
    // Each socket stays with the address it was opened to.
    expect(sockets.filter((s) => s.hello === 'b1')).toHaveLength(250);
    for (const s of sockets) s.ws.close();
  });

  it('says why nginx did not start, and refuses a short secret', async () => {
    const taken = http.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const options = {
      domain: DOMAIN,
      platform: platform.endpoint,
      listen: { host: '127.0.0.1', port: (taken.address() as AddressInfo).port },
      adminPort: await freePort(),
      secret: SECRET,
      dir: path.join(dir, 'second'),
    };
    await expect(startNginxEdge(options)).rejects.toThrow(
      /nginx exited after starting[\s\S]*Address already in use/,
    );
    taken.close();
    await expect(startNginxEdge({ ...options, secret: 'short' })).rejects.toThrow(/16 characters/);
  });

  it('keeps routes and open WebSockets through a reload', async () => {
    const held = await openSocket(edge, 'alice.matrix.test');
    await edge.reload();
    expect((await send(edge, 'alice.matrix.test', '/')).body).toBe('a');
    expect(await echoes(held.ws)).toBe(true);
    held.ws.close();
  });
});

describe.skipIf(!nginxInstalled() || !toolAvailable('openssl'))('the nginx edge with TLS', () => {
  let edge: NginxEdge;
  let dir: string;
  let platform: Awaited<ReturnType<typeof standIn>>;
  let a: Awaited<ReturnType<typeof standIn>>;

  beforeAll(async () => {
    [platform, a] = await Promise.all([standIn('platform'), standIn('a')]);
    dir = mkdtempSync(path.join(tmpdir(), 'matrixos-edge-tls-'));
    selfSignedCert(dir, DOMAIN);
    edge = await startNginxEdge({
      domain: DOMAIN,
      platform: platform.endpoint,
      listen: { host: '127.0.0.1', port: await freePort() },
      tls: { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') },
      adminPort: await freePort(),
      secret: SECRET,
      dir,
      workers: 1,
      log,
    });
    await createNginxEdgeRoutes({ adminUrl: edge.adminUrl, secret: SECRET, log }).publish(
      'alice',
      a.endpoint,
    );
  });
  afterAll(async () => {
    await edge?.stop();
    platform?.close();
    a?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('terminates TLS for instance hosts and the control plane, WebSockets included', async () => {
    expect(edge.url).toMatch(/^https:/);
    expect((await send(edge, 'alice.matrix.test', '/')).body).toBe('a');
    expect((await send(edge, DOMAIN, '/')).body).toBe('platform');
    expect(a.seen[0]!.headers['x-forwarded-proto']).toBe('https');
    expect(platform.seen[0]!.headers['x-forwarded-proto']).toBe('https');
    const { ws, hello } = await openSocket(edge, 'alice.matrix.test');
    expect(hello).toBe('a');
    expect(await echoes(ws)).toBe(true);
    ws.close();
  });

  it('speaks HTTP/2 to browsers, and the instance still sees whose host it was', async () => {
    const session = http2.connect(edge.url, { servername: 'alice.matrix.test', rejectUnauthorized: false });
    const body = await new Promise<string>((resolve, reject) => {
      const req = session.request({ ':path': '/h2', ':authority': 'alice.matrix.test' });
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => resolve(text));
      req.on('error', reject);
    });
    session.close();
    expect(body).toBe('a');
    const seen = a.seen.find((s) => s.url === '/h2')!;
    expect([seen.headers.host, seen.headers['x-forwarded-host']]).toEqual([
      'alice.matrix.test',
      'alice.matrix.test',
    ]);
  });
});
