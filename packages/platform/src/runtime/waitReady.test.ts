import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NotReadyError, waitReady } from './waitReady.ts';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('waitReady', () => {
  it('resolves as soon as /health answers 200, polling quickly until then', async () => {
    let calls = 0;
    const port = await listen(
      createServer((req, res) => {
        calls++;
        res.statusCode = req.url === '/health' && calls >= 3 ? 200 : 503;
        res.end();
      }),
    );
    const t0 = Date.now();
    await waitReady({ host: '127.0.0.1', port }, { timeoutMs: 5000, intervalMs: 25 });
    expect(calls).toBe(3);
    expect(Date.now() - t0).toBeLessThan(500);
  });

  it("never takes another instance's gateway at the address for the one it waits for", async () => {
    let as = 'bob';
    const port = await listen(
      createServer((_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ status: 'ok', handle: as }));
      }),
    );
    // alice's container died and its address went to bob's: not alice, ready (2 s: a loaded CI
    // machine once took longer than 300 ms to answer the first look).
    await expect(
      waitReady({ host: '127.0.0.1', port }, { timeoutMs: 2000, intervalMs: 25, handle: 'alice' }),
    ).rejects.toThrow(/another instance answers there \("bob"\)/);
    as = 'alice';
    await waitReady({ host: '127.0.0.1', port }, { timeoutMs: 1000, handle: 'alice' });
  });

  it('rejects after the timeout, saying where and what went wrong last', async () => {
    const port = await listen(createServer());
    servers.pop()!.close(); // nothing listens there any more
    const err = await waitReady({ host: '127.0.0.1', port }, { timeoutMs: 200 }).catch((e) => e);
    expect(err).toBeInstanceOf(NotReadyError);
    expect(err.message).toBe(`instance at 127.0.0.1:${port} not ready after 200 ms (last: ECONNREFUSED)`);
  });

  it('keeps to the timeout when a listener accepts but never answers (a frozen instance)', async () => {
    const sockets: Socket[] = [];
    const server = createServer();
    server.on('connection', (s) => sockets.push(s));
    const port = await listen(server);
    const t0 = Date.now();
    await expect(waitReady({ host: '127.0.0.1', port }, { timeoutMs: 300 })).rejects.toThrow(
      /no answer in time/,
    );
    expect(Date.now() - t0).toBeLessThan(1000);
    for (const s of sockets) s.destroy();
  });

  it('stops at once when the caller aborts', async () => {
    const port = await listen(createServer((_req, res) => res.writeHead(503).end()));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('client went away')), 50);
    const t0 = Date.now();
    await expect(
      waitReady({ host: '127.0.0.1', port }, { timeoutMs: 10_000, signal: controller.signal }),
    ).rejects.toThrow('client went away');
    expect(Date.now() - t0).toBeLessThan(500);
  });
});
