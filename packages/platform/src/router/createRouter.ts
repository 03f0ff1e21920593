import http from 'node:http';
import type { Duplex } from 'node:stream';
import { bearerToken, type Logger, safeEqual } from '@matrixos/shared';
import { createProxyServer } from 'http-proxy-3';
import type { PlatformConfig } from '../config.ts';
import type { Activity } from '../lifecycle/activity.ts';
import type { Lifecycle } from '../lifecycle/lifecycle.ts';
import type { Orchestrator, Progress } from '../orchestrator/orchestrator.ts';
import type { Endpoint } from '../runtime/driver.ts';
import { connectionTokens, createForwarder } from './forward.ts';
import { notFoundPage, type RenderedPage, unavailablePage, wakingPage } from './pages.ts';
import type { Target } from './resolveTarget.ts';

export interface RouterDeps {
  orchestrator: Orchestrator;
  lifecycle: Lifecycle;
  activity: Activity;
  config: Pick<PlatformConfig, 'publicUrl' | 'trustProxy' | 'lifecycle'>;
  adminToken: string;
  log: Logger;
}

/** Where the "waking up" page listens for progress, on the instance's own host. */
export const WAKE_EVENTS_PATH = '/.well-known/matrixos/wake';

/** A browser waits this long for a wake before it is shown the "waking up" page instead. */
const BROWSER_GRACE_MS = 1000;

// Request headers that describe one hop, not the request (RFC 9110 §7.6.1), plus `upgrade` on
// plain requests (h2c attempts): never forwarded.
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer'];
const FORWARDED = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-prefix',
];

// Errors that mean the instance is not where we thought (crashed, stopped, moved).
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

const targetOf = new WeakMap<http.IncomingMessage, Target>();

/**
 * Forwards requests for `{handle}.{domain}` (and `/proxy/{handle}/...`) to the instance, HTTP
 * and WebSocket, streaming both ways. A sleeping instance is woken first: API clients wait,
 * browsers see a live "waking up" page when it takes more than a moment.
 */
export function createRouter(deps: RouterDeps) {
  const { orchestrator, lifecycle, activity, config, log } = deps;
  const wakeTimeoutMs = config.lifecycle.wakeTimeoutMs;
  // Plain HTTP, the hot path, goes through the forwarder; WebSockets through http-proxy-3
  // (upgrade handshake, socket lifetimes). X-Forwarded-* are set in `prepare` for both.
  const forwarder = createForwarder();
  const proxy = createProxyServer({ connectTimeout: 5000 });

  function onUpstreamError(err: Error, req: http.IncomingMessage, res: http.ServerResponse | Duplex): void {
    const code = (err as NodeJS.ErrnoException).code;
    const target = targetOf.get(req);
    const handle = target?.handle;
    // The instance went away under us (crashed, or stopped behind our back): forget where it
    // was, so the next request wakes it instead of failing again.
    if (handle && code && UNREACHABLE.has(code)) orchestrator.invalidate(handle);
    if (!(res instanceof http.ServerResponse)) {
      res.destroy();
      return;
    }
    // Mid-response, or the client already left: nothing useful can be said any more.
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    log.warn({ handle, code, err: err.message }, 'upstream error');
    if (target && wantsHtml(req))
      sendPage(res, 503, wakingPage(target.handle, `${target.prefix}${WAKE_EVENTS_PATH}`));
    else
      sendJson(res, 502, 'instance_unreachable', 'the instance did not answer; retry in a moment', {
        'retry-after': '1',
      });
  }
  proxy.on('error', (err, req, res) => onUpstreamError(err, req, res));

  function isAdminToken(header: string | undefined): boolean {
    const token = bearerToken(header);
    return token !== null && safeEqual(token, deps.adminToken);
  }

  function prepare(req: http.IncomingMessage, target: Target, isUpgrade: boolean): void {
    req.url = target.url;
    const h = req.headers;
    if (h.connection) for (const n of connectionTokens(h.connection)) if (n !== 'upgrade') delete h[n];
    for (const name of HOP_BY_HOP) delete h[name];
    if (isUpgrade) h.connection = 'upgrade';
    else delete h.upgrade;
    // Who asked, as this router saw it; what a peer claims is kept only from a trusted edge.
    const trusted = config.trustProxy;
    if (!trusted) for (const name of FORWARDED) delete h[name];
    const peer = req.socket.remoteAddress ?? '';
    h['x-forwarded-for'] = trusted && h['x-forwarded-for'] ? `${h['x-forwarded-for']}, ${peer}` : peer;
    h['x-forwarded-proto'] ??= 'http';
    h['x-forwarded-host'] ??= h.host ?? '';
    h['x-forwarded-port'] ??= String(req.socket.localPort ?? '');
    if (target.prefix) h['x-forwarded-prefix'] = target.prefix;
    // The platform's admin token never reaches a tenant's container, whoever sent it there.
    if (isAdminToken(h.authorization)) delete h.authorization;
  }

  function known(handle: string): boolean {
    return orchestrator.route(handle) !== undefined || orchestrator.exists(handle);
  }

  /** Where a running instance answers; null when it has to be woken first. */
  function runningEndpoint(handle: string): Endpoint | null {
    const route = orchestrator.route(handle);
    return route?.state === 'running' ? route.endpoint : null;
  }

  async function web(req: http.IncomingMessage, res: http.ServerResponse, target: Target): Promise<void> {
    const { handle } = target;
    if (!known(handle)) {
      if (wantsHtml(req)) sendPage(res, 404, notFoundPage(handle, config.publicUrl.origin));
      else sendJson(res, 404, 'not_found', `no instance "${handle}"`);
      return;
    }
    if (target.url === WAKE_EVENTS_PATH || target.url.startsWith(`${WAKE_EVENTS_PATH}?`)) {
      wakeEvents(req, res, handle);
      return;
    }
    activity.begin(handle);
    res.once('close', () => activity.end(handle));
    let endpoint = runningEndpoint(handle);
    if (!endpoint) {
      const waking = lifecycle.wake(handle);
      const html = wantsHtml(req);
      try {
        endpoint = await withTimeout(waking, html ? BROWSER_GRACE_MS : wakeTimeoutMs);
      } catch (err) {
        if (res.destroyed) return;
        if (err instanceof WaitTimeout && html) {
          waking.catch(() => undefined); // its progress and failure reach the page over SSE
          sendPage(res, 503, wakingPage(handle, `${target.prefix}${WAKE_EVENTS_PATH}`), {
            'retry-after': '2',
          });
        } else if (err instanceof WaitTimeout) {
          sendJson(res, 503, 'wake_timeout', `instance "${handle}" did not wake within ${wakeTimeoutMs} ms`, {
            'retry-after': '5',
          });
        } else if (html) {
          sendPage(res, 503, unavailablePage(handle, 'It could not be started just now.'));
        } else {
          sendJson(res, 503, 'instance_unavailable', `instance "${handle}" could not be started`, {
            'retry-after': '5',
          });
        }
        return;
      }
      if (res.destroyed) return;
    }
    targetOf.set(req, target);
    prepare(req, target, false);
    forwarder.forward(req, res, endpoint, (err) => onUpstreamError(err, req, res));
  }

  async function ws(req: http.IncomingMessage, socket: Duplex, head: Buffer, target: Target): Promise<void> {
    const { handle } = target;
    if (!known(handle)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    activity.begin(handle);
    socket.once('close', () => activity.end(handle));
    let endpoint = runningEndpoint(handle);
    if (!endpoint) {
      try {
        endpoint = await withTimeout(lifecycle.wake(handle), wakeTimeoutMs);
      } catch {
        socket.end(
          'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n',
        );
        return;
      }
      if (socket.destroyed) return;
    }
    targetOf.set(req, target);
    prepare(req, target, true);
    proxy.ws(req, socket, head, { target: { host: endpoint.host, port: endpoint.port } });
  }

  /** Server-sent progress of a wake, for the "waking up" page; it also starts the wake. */
  function wakeEvents(req: http.IncomingMessage, res: http.ServerResponse, handle: string): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    const send = (p: Pick<Progress, 'step' | 'message'>) =>
      res.write(`event: progress\ndata: ${JSON.stringify(p)}\n\n`);
    const onProgress = (p: Progress) => {
      if (p.handle === handle && p.step !== 'ready' && p.step !== 'failed') send(p);
    };
    const heartbeat = setInterval(() => res.write(': still waking\n\n'), 15_000);
    const done = () => {
      clearInterval(heartbeat);
      orchestrator.events.off('progress', onProgress);
      res.end();
    };
    req.once('close', done);
    if (runningEndpoint(handle)) {
      send({ step: 'ready', message: 'Ready' });
      done();
      return;
    }
    const last = orchestrator.lastProgress(handle);
    if (last && last.step !== 'ready' && last.step !== 'failed') send(last);
    orchestrator.events.on('progress', onProgress);
    lifecycle
      .wake(handle)
      .then(
        () => send({ step: 'ready', message: 'Ready' }),
        () => send({ step: 'failed', message: 'Your instance could not be started.' }),
      )
      .finally(done);
  }

  return {
    web,
    ws,
    close: () => forwarder.close(),
  };
}

export type Router = ReturnType<typeof createRouter>;

function wantsHtml(req: http.IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  return (
    req.headers['sec-fetch-mode'] === 'navigate' || String(req.headers.accept ?? '').includes('text/html')
  );
}

function sendPage(
  res: http.ServerResponse,
  status: number,
  page: RenderedPage,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': page.csp,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  res.end(page.html);
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...extra });
  res.end(JSON.stringify({ error: { code, message } }));
}

class WaitTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new WaitTimeout(`timed out after ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
