import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';

/**
 * Serves a service meant for instances (the instance API, the Matrix relay) where they reach the
 * host (the runtime's `hostAddress()`: the Docker network's gateway, loopback for processes),
 * never on the platform's own listener; `url` names it as instances do (`hostName()`). The
 * defaults are small: only gateways talk here, with tiny requests.
 */
export async function listenForInstances(
  app: { fetch: (req: Request) => Response | Promise<Response> },
  at: { host: string; name: string },
  port: number,
  limits: { requestTimeoutMs: number; headersTimeoutMs: number; maxHeaders: number } = {
    requestTimeoutMs: 10_000,
    headersTimeoutMs: 5_000,
    maxHeaders: 50,
  },
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = limits.headersTimeoutMs;
  server.maxHeadersCount = limits.maxHeaders;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${at.name.includes(':') ? `[${at.name}]` : at.name}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
