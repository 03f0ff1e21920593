import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@matrixos/shared';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createNginxEdgeRoutes } from './createNginxEdgeRoutes.ts';

const SECRET = 's'.repeat(32);

/** The admin API as the edge answers it, recording each call; `failNext` calls answer 503. */
function standInAdmin() {
  const calls: { method: string; url: string; authorization?: string; body: string }[] = [];
  const state = { failNext: 0, silent: false };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      calls.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
      if (state.silent) return; // accepts, never answers: a frozen edge
      if (state.failNext > 0) {
        state.failNext--;
        res.writeHead(503).end('busy');
        return;
      }
      res.writeHead(204).end();
    });
  });
  return { server, calls, state };
}

describe('createNginxEdgeRoutes', () => {
  const admin = standInAdmin();
  const log = createLogger('edge-routes-test', 'silent');
  let routes: ReturnType<typeof createNginxEdgeRoutes>;

  beforeAll(async () => {
    await new Promise<void>((resolve) => admin.server.listen(0, '127.0.0.1', resolve));
    const { port } = admin.server.address() as AddressInfo;
    routes = createNginxEdgeRoutes({
      adminUrl: `http://127.0.0.1:${port}`,
      secret: SECRET,
      log,
      retryMs: 10,
    });
  });
  afterAll(() => {
    admin.server.closeAllConnections();
    admin.server.close();
  });
  beforeEach(() => {
    admin.calls.length = 0;
    admin.state.failNext = 0;
    admin.state.silent = false;
    vi.restoreAllMocks();
  });

  it('publishes ip:port, [ipv6]:port, and a name as the address it resolves to', async () => {
    await routes.publish('alice', { host: '10.0.0.7', port: 8080 });
    await routes.publish('bob', { host: '::1', port: 8080 });
    await routes.publish('carol', { host: 'localhost', port: 8080 });
    expect(admin.calls.map((c) => [c.method, c.url, c.body])).toEqual([
      ['PUT', '/routes/alice', '10.0.0.7:8080'],
      ['PUT', '/routes/bob', '[::1]:8080'],
      ['PUT', '/routes/carol', expect.stringMatching(/^(127\.0\.0\.1|\[::1\]):8080$/)],
    ]);
    expect(admin.calls.every((c) => c.authorization === `Bearer ${SECRET}`)).toBe(true);
  });

  it('logs a publish the edge refused, and resolves', async () => {
    const warn = vi.spyOn(log, 'warn');
    admin.state.failNext = 1;
    await routes.publish('alice', { host: '10.0.0.7', port: 8080 });
    expect(warn).toHaveBeenCalledOnce();
  });

  it('withdraws again after a failure', async () => {
    admin.state.failNext = 2;
    await routes.withdraw('alice');
    expect(admin.calls.map((c) => `${c.method} ${c.url}`)).toEqual(Array(3).fill('DELETE /routes/alice'));
  });

  it('gives up on a withdrawal after three tries with an error logged, and resolves', async () => {
    const error = vi.spyOn(log, 'error');
    admin.state.failNext = 5;
    await routes.withdraw('alice');
    expect(admin.calls).toHaveLength(3);
    expect(error).toHaveBeenCalledOnce();
  });

  it('does not wait long for an edge that never answers', async () => {
    admin.state.silent = true;
    const t0 = Date.now();
    await routes.publish('alice', { host: '10.0.0.7', port: 8080 });
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('replaces the whole set in one call, and rejects when the edge refuses it', async () => {
    await routes.replaceAll(
      new Map([
        ['alice', { host: '10.0.0.7', port: 8080 }],
        ['bob', { host: 'fd00::2', port: 8080 }],
      ]),
    );
    expect(admin.calls.map((c) => [c.method, c.url, JSON.parse(c.body)])).toEqual([
      ['PUT', '/routes', { alice: '10.0.0.7:8080', bob: '[fd00::2]:8080' }],
    ]);
    admin.state.failNext = 1;
    await expect(routes.replaceAll(new Map())).rejects.toThrow(/503/);
  });
});
