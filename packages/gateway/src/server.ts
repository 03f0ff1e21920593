import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Gateway } from './app.ts';

export interface RunningGateway {
  server: Server;
  port: number;
  /** `http://host:port` for clients on this machine. */
  url: string;
  /**
   * Stops accepting, closes WebSockets with 1001, lets in-flight requests finish; after `graceMs`
   * cuts whatever is left. Resolves `drained` or `forced`.
   */
  shutdown(graceMs: number): Promise<'drained' | 'forced'>;
}

/**
 * What one connection may cost before a route sees it: a bound on the request head, and timeouts
 * for a client that sends its head or its body too slowly (slowloris). They cover receiving the
 * request only: a WebSocket, once upgraded, and a long response are not cut.
 */
export interface ServerLimits {
  /** Request line plus headers; more is answered 431. */
  maxHeaderBytes: number;
  /** The whole head must arrive within this; else 408 and the connection is closed. */
  headersTimeoutMs: number;
  /** The whole request, body included (a 10 MB upload at 1 Mbit/s takes 80 s). */
  requestTimeoutMs: number;
  /** How often Node checks the two timeouts above. */
  checkIntervalMs: number;
}

export const SERVER_LIMITS: ServerLimits = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 15_000,
  requestTimeoutMs: 120_000,
  checkIntervalMs: 1_000,
};

/** Serves a gateway over HTTP (+ WebSocket upgrades) on host:port (port 0: any free one). */
export async function listen(
  gateway: Gateway,
  { port, host }: { port: number; host: string },
  limits: ServerLimits = SERVER_LIMITS,
): Promise<RunningGateway> {
  const server = createAdaptorServer({
    fetch: gateway.app.fetch,
    websocket: { server: gateway.sockets },
    serverOptions: {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.checkIntervalMs,
    },
  }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const clientHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  let closing: Promise<'drained' | 'forced'> | undefined;
  // A keep-alive connection whose request was in flight at shutdown becomes idle only when its
  // response finishes: close it then, rather than after the keep-alive timeout.
  server.on('request', (_req, res) => {
    res.once('finish', () => {
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
  });

  return {
    server,
    port: address.port,
    url: `http://${clientHost.includes(':') ? `[${clientHost}]` : clientHost}:${address.port}`,
    shutdown(graceMs) {
      closing ??= new Promise((resolve) => {
        const timer = setTimeout(() => {
          server.closeAllConnections();
          for (const client of gateway.sockets.clients) client.terminate();
          resolve('forced');
        }, graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve('drained');
        });
        // Keep-alive connections with no request in flight would otherwise hold close() open.
        server.closeIdleConnections();
        gateway.closeSockets();
      });
      return closing;
    },
  };
}
