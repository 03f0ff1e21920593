import http from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from '@matrixos/shared';
import type { Hono } from 'hono';
import type { Router } from './router/createRouter.ts';
import { requestIdOf } from './router/requestId.ts';
import { resolveTarget } from './router/resolveTarget.ts';

/** What one connection may cost before the platform has decided anything about it. */
export interface ServerLimits {
  /** Request line plus headers (Node's `maxHeaderSize`): larger gets 431. */
  maxHeaderBytes: number;
  /** The whole header block must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** A control-plane request's body must arrive within this; an instance's is not bounded here. */
  bodyTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
};

/** Once the answer is out, a client still sending its body has this long before it is cut. */
const DRAIN_GRACE_MS = 1000;

/**
 * One listener for both: requests for an instance go to the router's raw streaming path
 * (no Fetch-API conversion on the hot path), everything else to the control plane's Hono app.
 *
 * Limits come before anything is read: header size and time for every connection (Node's own
 * parser), a body deadline for the control plane (whose routes each limit the size). Node's `requestTimeout`
 * is off because it also bounds bodies, and an instance's uploads, WebSockets and event streams
 * are legitimately long: those are authenticated before a byte is forwarded, and the instance
 * decides how long they may take.
 */
export function createServer(deps: {
  app: Hono;
  router: Router;
  domain: string;
  log: Logger;
  limits?: Partial<ServerLimits>;
  /** `/_matrix/*` on the control-plane host: the homeserver's client API, and its appservice pushes. */
  matrix?: Hono | null;
}): http.Server {
  const { router, domain, log } = deps;
  const limits = { ...DEFAULT_LIMITS, ...deps.limits };
  const control = getRequestListener(deps.app.fetch);
  const matrix = deps.matrix ? getRequestListener(deps.matrix.fetch) : null;
  const server = http.createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: 0,
      // How often Node checks the headers deadline (its default, 30 s, would triple the bound).
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    (req, res) => {
      cutWhenAnsweredButSending(req, res);
      const target = resolveTarget(req.headers.host, req.url ?? '/', domain);
      if (!target && matrix && req.url?.startsWith('/_matrix/')) {
        // Not the control plane's API: a sync long-polls and a media upload is large.
        void matrix(req, res);
        return;
      }
      if (!target) {
        bodyDeadline(req, res, limits.bodyTimeoutMs);
        void control(req, res);
        return;
      }
      router.web(req, res, target).catch((err) => {
        log.error({ err, handle: target.handle, reqId: requestIdOf(req) }, 'router failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'internal', message: 'internal error' } }));
      });
    },
  );
  server.on('upgrade', (req, socket, head) => {
    const target = resolveTarget(req.headers.host, req.url ?? '/', domain);
    if (!target) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    router.ws(req, socket, head, target).catch((err) => {
      log.error({ err, handle: target.handle, reqId: requestIdOf(req) }, 'router failed (websocket)');
      socket.destroy();
    });
  });
  return server;
}

function refuse(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify({ error: { code, message } }));
}

/** A control-plane body that is still arriving after `ms` is a slow-body attack: 408, then cut. */
function bodyDeadline(req: http.IncomingMessage, res: http.ServerResponse, ms: number): void {
  const timer = setTimeout(() => {
    if (req.complete || req.socket.destroyed) return;
    if (!res.headersSent)
      refuse(res, 408, 'request_timeout', `the request body did not arrive within ${ms} ms`);
    req.socket.destroy();
  }, ms);
  timer.unref();
  req.once('end', () => clearTimeout(timer));
  res.once('close', () => {
    if (req.complete) clearTimeout(timer);
  });
}

/**
 * An answer sent before the body was read (a 413, a 401, a redirect) would otherwise leave Node
 * reading and discarding the rest for as long as the client keeps sending.
 */
function cutWhenAnsweredButSending(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.once('finish', () => {
    if (req.complete) return;
    setTimeout(() => {
      if (!req.complete) req.socket.destroy();
    }, DRAIN_GRACE_MS).unref();
  });
}
