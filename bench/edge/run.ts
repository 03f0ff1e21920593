/**
 * Which native edge for issue 15 ("one native hop"): each candidate terminates TLS and routes by
 * Host to stand-in instances (bench/edge/upstream.ts), with routes changed at runtime the way the
 * platform would change them, against nginx with a static upstream (the reference) and a direct
 * connection, in the same run:
 *  - nginx-static: `proxy_pass` to a fixed keep-alive upstream (no dynamic routing: the reference);
 *  - nginx-lua: routes in a shared dict (ngx_http_lua), set through a loopback admin location,
 *    the peer chosen by `balancer_by_lua` so upstream keep-alive still works;
 *  - haproxy: the destination from two map files (`set-dst`, `set-dst-port`), changed with the
 *    runtime API (`set map` over its admin socket);
 *  - caddy: `reverse_proxy` per host, changed through its admin API (a config load).
 * For each: requests/s and p50/p99 (wrk, 1 thread, 16 connections) for a tiny answer and for
 * 64 KiB, the edge's CPU per request, and the route-change test: WebSockets held open through it
 * (half to the instance whose route changes) while its route flips 100 times; how many dropped,
 * and whether new requests follow the change. Each edge runs one worker (nginx
 * `worker_processes 1`, HAProxy `nbthread 1`, Caddy `GOMAXPROCS=1`), so the figures compare
 * proxies, not how many cores each takes.
 *
 *   npm run bench -- edge       (needs nginx-light, libnginx-mod-http-lua, haproxy, caddy, wrk,
 *                                openssl; ~5 min)
 *
 * EDGE_ROUNDS (3) rounds, the candidates taking turns in each; medians. EDGE_WS (500) sockets,
 * EDGE_CHANGES (100) route changes. Results: bench/results/edge-<time>.{md,json}.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '@matrixos/shared';
import { selfSignedCert } from '@matrixos/shared/testing';
import WebSocket from 'ws';
import { requireTools } from '../lib/requireTools.ts';
import { writeResults } from '../lib/results.ts';
import { median, pool } from '../lib/stats.ts';
import { type WrkResult, wrk } from '../lib/wrk.ts';
import { childrenOf, cpuSeconds, waitPort } from './support.ts';

const ROUNDS = Number(process.env.EDGE_ROUNDS ?? 3);
const WS_COUNT = Number(process.env.EDGE_WS ?? 500);
const CHANGES = Number(process.env.EDGE_CHANGES ?? 100);
const SECONDS = 6;
const _root = path.resolve(import.meta.dirname, '../..');
const log = (...a: unknown[]) => console.error(`[edge ${new Date().toISOString().slice(11, 19)}]`, ...a);

requireTools([
  ['nginx', 'apt-get install -y nginx-light libnginx-mod-http-lua'],
  ['haproxy', 'apt-get install -y haproxy'],
  ['caddy', 'apt-get install -y caddy'],
  ['wrk', 'apt-get install -y wrk'],
  ['openssl', 'apt-get install -y openssl'],
]);

interface Edge {
  name: string;
  port: number;
  /** The processes whose CPU is the edge's. */
  pids(): number[];
  /** Points `host` at 127.0.0.1:`port` (null: the edge cannot change routes at runtime). */
  route: ((host: string, port: number) => Promise<void>) | null;
}

/** A plain HTTP request to loopback (the edges' admin interfaces). */
function call(port: number, method: string, p: string, body?: string, type = 'application/json') {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: p, headers: body ? { 'content-type': type } : {} },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Which upstream port answers for `host` through an edge now (the stand-in says in a header). */
function upstreamOf(edgePort: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: edgePort, path: '/health', headers: { host }, rejectUnauthorized: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.headers['x-upstream-port'] ?? res.statusCode)));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'matrixos-edge-'));
  const children: ChildProcess[] = [];
  const results: Record<string, unknown> = {};
  try {
    selfSignedCert(dir);

    // Stand-ins: instance a, and the two addresses instance b's route flips between.
    const [a, b1, b2] = [await freePort(), await freePort(), await freePort()];
    const upstream = spawn(
      process.execPath,
      [path.join(import.meta.dirname, 'upstream.ts'), `${a}`, `${b1}`, `${b2}`],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(upstream);
    await new Promise<void>((resolve) => upstream.stdout!.once('data', () => resolve()));

    const edges: Edge[] = [];
    // nginx, static upstream: the reference.
    {
      const port = await freePort();
      writeFileSync(
        `${dir}/nginx-static.conf`,
        `daemon off; worker_processes 1; pid ${dir}/nginx-static.pid; error_log ${dir}/nginx-static.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  upstream a { server 127.0.0.1:${a}; keepalive 256; }
  map $http_upgrade $conn_upgrade { default upgrade; '' ''; }
  server {
    listen 127.0.0.1:${port} ssl; ssl_certificate ${dir}/cert.pem; ssl_certificate_key ${dir}/key.pem;
    location / {
      proxy_http_version 1.1; proxy_set_header Host $host;
      proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $conn_upgrade;
      proxy_read_timeout 3600s; proxy_pass http://a;
    }
  }
}
`,
      );
      const p = spawn('nginx', ['-c', `${dir}/nginx-static.conf`, '-p', dir], { stdio: 'ignore' });
      children.push(p);
      await waitPort(port);
      edges.push({ name: 'nginx-static', port, pids: () => [p.pid!, ...childrenOf(p.pid!)], route: null });
    }
    // nginx + lua: routes in a shared dict.
    {
      const port = await freePort();
      const adminPort = await freePort();
      writeFileSync(
        `${dir}/nginx-lua.conf`,
        `load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
daemon off; worker_processes 1; pid ${dir}/nginx-lua.pid; error_log ${dir}/nginx-lua.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  lua_shared_dict routes 10m;
  upstream instance {
    server 0.0.0.1;
    balancer_by_lua_block {
      local ok, err = require("ngx.balancer").set_current_peer("127.0.0.1", tonumber(ngx.var.route_port))
      if not ok then return ngx.exit(502) end
    }
    keepalive 256;
  }
  map $http_upgrade $conn_upgrade { default upgrade; '' ''; }
  server {
    listen 127.0.0.1:${port} ssl; ssl_certificate ${dir}/cert.pem; ssl_certificate_key ${dir}/key.pem;
    location / {
      set $route_port '';
      access_by_lua_block {
        local to = ngx.shared.routes:get(ngx.var.host)
        if not to then return ngx.exit(502) end
        ngx.var.route_port = to
      }
      proxy_http_version 1.1; proxy_set_header Host $host;
      proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $conn_upgrade;
      proxy_read_timeout 3600s; proxy_pass http://instance;
    }
  }
  server {
    listen 127.0.0.1:${adminPort};
    location = /route { content_by_lua_block {
      local args = ngx.req.get_uri_args()
      ngx.shared.routes:set(args.host, args.port)
      ngx.say("ok")
    } }
  }
}
`,
      );
      const p = spawn('nginx', ['-c', `${dir}/nginx-lua.conf`, '-p', dir], { stdio: 'ignore' });
      children.push(p);
      await waitPort(port);
      await waitPort(adminPort);
      const route = async (host: string, to: number) => {
        const r = await call(adminPort, 'GET', `/route?host=${host}&port=${to}`);
        if (r.status !== 200) throw new Error(`nginx-lua route: ${r.status}`);
      };
      edges.push({ name: 'nginx-lua', port, pids: () => [p.pid!, ...childrenOf(p.pid!)], route });
    }
    // HAProxy: destination from map files, changed over the runtime API.
    {
      const port = await freePort();
      writeFileSync(`${dir}/hosts.map`, '');
      writeFileSync(
        `${dir}/haproxy.cfg`,
        `global
  nbthread 1
  maxconn 8000
  stats socket ${dir}/haproxy.sock mode 600 level admin
defaults
  mode http
  timeout connect 5s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
frontend edge
  bind 127.0.0.1:${port} ssl crt ${dir}/combined.pem
  http-request set-var(txn.port) req.hdr(host),lower,map(${dir}/hosts.map)
  http-request return status 502 unless { var(txn.port) -m found }
  default_backend instances
backend instances
  http-reuse always
  http-request set-dst-port var(txn.port)
  server any 127.0.0.1:0
`,
      );
      const p = spawn('haproxy', ['-W', '-db', '-f', `${dir}/haproxy.cfg`], { stdio: 'ignore' });
      children.push(p);
      await waitPort(port);
      const runtime = (cmd: string) =>
        new Promise<string>((resolve, reject) => {
          const s = net.connect(`${dir}/haproxy.sock`);
          let out = '';
          s.on('data', (d) => (out += d));
          s.on('end', () => resolve(out));
          s.on('error', reject);
          s.end(`${cmd}\n`);
        });
      const route = async (host: string, to: number) => {
        // `set map` changes an entry; `add map` makes it the first time.
        const out = await runtime(`set map ${dir}/hosts.map ${host} ${to}`);
        if (/not found/i.test(out)) await runtime(`add map ${dir}/hosts.map ${host} ${to}`);
      };
      edges.push({ name: 'haproxy', port, pids: () => [p.pid!, ...childrenOf(p.pid!)], route });
    }
    // Caddy: a route per host, the whole config loaded through its admin API on each change.
    {
      const port = await freePort();
      const adminPort = await freePort();
      const routes = new Map<string, number>();
      const config = () =>
        JSON.stringify({
          admin: { listen: `127.0.0.1:${adminPort}` },
          apps: {
            tls: {
              certificates: {
                load_files: [{ certificate: `${dir}/cert.pem`, key: `${dir}/key.pem`, tags: ['edge'] }],
              },
            },
            http: {
              servers: {
                edge: {
                  listen: [`127.0.0.1:${port}`],
                  automatic_https: { disable: true },
                  // wrk names the IP address in its SNI: the one certificate whatever the name.
                  tls_connection_policies: [{ certificate_selection: { any_tag: ['edge'] } }],
                  routes: [...routes].map(([host, to]) => ({
                    match: [{ host: [host] }],
                    handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: `127.0.0.1:${to}` }] }],
                    terminal: true,
                  })),
                },
              },
            },
          },
        });
      writeFileSync(`${dir}/caddy.json`, config());
      const p = spawn('caddy', ['run', '--config', `${dir}/caddy.json`], {
        stdio: 'ignore',
        env: { ...process.env, GOMAXPROCS: '1', HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
      });
      children.push(p);
      await waitPort(adminPort);
      const route = async (host: string, to: number) => {
        routes.set(host, to);
        const r = await call(adminPort, 'POST', '/load', config());
        if (r.status !== 200) throw new Error(`caddy load: ${r.status} ${r.text}`);
      };
      edges.push({ name: 'caddy', port, pids: () => [p.pid!], route });
    }
    for (const e of edges) {
      await e.route?.('a.localhost', a);
      await e.route?.('b.localhost', b1);
      await waitPort(e.port);
    }
    log('edges up:', edges.map((e) => `${e.name}:${e.port}`).join(' '));

    // Throughput: rounds in which every target takes its turn, tiny then 64 KiB.
    type Sample = WrkResult & { cpuUsPerReq?: number };
    const samples = new Map<string, Sample[]>();
    const add = (key: string, s: Sample) => samples.set(key, [...(samples.get(key) ?? []), s]);
    for (let round = 0; round < ROUNDS; round++) {
      for (const size of ['health', 'big']) {
        add(`direct ${size}`, await wrk(`http://127.0.0.1:${a}/${size}`, null, SECONDS));
        for (const e of edges) {
          await wrk(`https://127.0.0.1:${e.port}/${size}`, 'a.localhost', 1); // warm-up
          const c0 = cpuSeconds(e.pids());
          const r = await wrk(`https://127.0.0.1:${e.port}/${size}`, 'a.localhost', SECONDS);
          const cpu = cpuSeconds(e.pids()) - c0;
          add(`${e.name} ${size}`, { ...r, cpuUsPerReq: (cpu / (r.rps * SECONDS)) * 1e6 });
        }
      }
      log(`round ${round + 1} of ${ROUNDS} done`);
    }
    const table = [...samples].map(([key, xs]) => {
      const [target, size] = key.split(' ') as [string, string];
      return {
        target,
        size: size === 'big' ? '64 KiB' : 'tiny',
        rps: median(xs.map((x) => x.rps)),
        p50: median(xs.map((x) => x.p50)),
        p99: median(xs.map((x) => x.p99)),
        cpuUsPerReq: xs[0]!.cpuUsPerReq === undefined ? null : median(xs.map((x) => x.cpuUsPerReq!)),
        errors: xs.reduce((n, x) => n + x.errors, 0),
      };
    });
    const ref = (size: string) => table.find((r) => r.target === 'nginx-static' && r.size === size)!;
    results.throughput = table;

    // Route changes under open WebSockets: half to a, half to b, whose route flips CHANGES times.
    const changes: Record<string, unknown> = {};
    for (const e of edges) {
      if (!e.route) continue;
      let dropped = 0;
      let holding = true;
      const sockets: WebSocket[] = [];
      let failed = 0;
      await pool(
        Array.from({ length: WS_COUNT }, (_, i) => (i % 2 ? 'b.localhost' : 'a.localhost')),
        50,
        (host) =>
          new Promise<void>((resolve) => {
            const ws = new WebSocket(`wss://127.0.0.1:${e.port}/ws`, {
              headers: { host },
              rejectUnauthorized: false,
            });
            ws.once('open', () => resolve());
            ws.once('error', () => {
              failed++;
              resolve();
            });
            ws.once('close', () => {
              if (holding) dropped++;
            });
            sockets.push(ws);
          }),
      );
      const t0 = performance.now();
      const followed: boolean[] = [];
      for (let i = 0; i < CHANGES; i++) {
        const to = i % 2 ? b1 : b2;
        await e.route('b.localhost', to);
        // A new request goes to the new address (every tenth change checked).
        if (i % 10 === 9) followed.push((await upstreamOf(e.port, 'b.localhost')) === String(to));
      }
      const changeMs = (performance.now() - t0) / CHANGES;
      await sleep(1000);
      // Each held socket still carries a message both ways.
      let echoed = 0;
      await pool(sockets, 50, async (ws) => {
        if (ws.readyState !== WebSocket.OPEN) return;
        const got = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 5000);
          ws.once('message', () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        ws.send('ping');
        if (await got) echoed++;
      });
      holding = false;
      for (const ws of sockets) ws.close();
      changes[e.name] = {
        sockets: WS_COUNT,
        failedToOpen: failed,
        dropped,
        echoedAfter: echoed,
        changes: CHANGES,
        msPerChange: changeMs,
        newRequestsFollowed: `${followed.filter(Boolean).length}/${followed.length}`,
      };
      log('route changes', e.name, changes[e.name]);
      await sleep(500);
    }
    results.routeChanges = changes;

    const md = [
      `Run ${new Date().toISOString()}: TLS edge → stand-in instance, one worker per edge, ${ROUNDS} rounds, medians.`,
      '',
      '| target | size | req/s | × nginx-static | p50 ms | p99 ms | p99 × nginx-static | edge CPU µs/req | wrk errors |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...table.map(
        (r) =>
          `| ${r.target} | ${r.size} | ${r.rps.toFixed(0)} | ${(r.rps / ref(r.size).rps).toFixed(2)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.p99 / ref(r.size).p99).toFixed(2)} | ${r.cpuUsPerReq?.toFixed(0) ?? '-'} | ${r.errors} |`,
      ),
      '',
      `| edge | ${WS_COUNT} WebSockets: dropped during ${CHANGES} changes | still echo after | ms per change | new requests follow |`,
      '| --- | ---: | ---: | ---: | --- |',
      ...Object.entries(changes).map(([name, c]) => {
        const x = c as {
          dropped: number;
          echoedAfter: number;
          msPerChange: number;
          newRequestsFollowed: string;
        };
        return `| ${name} | ${x.dropped} | ${x.echoedAfter} | ${x.msPerChange.toFixed(1)} | ${x.newRequestsFollowed} |`;
      }),
    ].join('\n');
    writeResults('edge', md, results);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await sleep(500);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
