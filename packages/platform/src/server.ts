import http from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from '@matrixos/shared';
import type { Hono } from 'hono';
import type { Router } from './router/createRouter.ts';
import { resolveTarget } from './router/resolveTarget.ts';

/**
 * One listener for both: requests for an instance go to the router's raw streaming path
 * (no Fetch-API conversion on the hot path), everything else to the control plane's Hono app.
 */
export function createServer(deps: { app: Hono; router: Router; domain: string; log: Logger }): http.Server {
  const { router, domain, log } = deps;
  const control = getRequestListener(deps.app.fetch);
  const server = http.createServer((req, res) => {
    const target = resolveTarget(req.headers.host, req.url ?? '/', domain);
    if (!target) {
      void control(req, res);
      return;
    }
    router.web(req, res, target).catch((err) => {
      log.error({ err, handle: target.handle }, 'router failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'internal', message: 'internal error' } }));
    });
  });
  server.on('upgrade', (req, socket, head) => {
    const target = resolveTarget(req.headers.host, req.url ?? '/', domain);
    if (!target) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    router.ws(req, socket, head, target).catch((err) => {
      log.error({ err, handle: target.handle }, 'router failed (websocket)');
      socket.destroy();
    });
  });
  return server;
}
